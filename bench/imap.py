"""Import a mailbox from a real Dovecot and print the rate and the peak memory of the reader.

    .venv/bin/python bench/imap.py [--messages 2000] [--size 50000]

Needs Debian's dovecot-imapd (as the tests do); runs a throwaway Dovecot on loopback ports.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imapclient import IMAPClient  # noqa: E402

from gateway.clock import utc_now  # noqa: E402
from gateway.config import ImapSettings, MailboxSettings  # noqa: E402
from gateway.inbound.imap import MailboxReader  # noqa: E402
from gateway.inbound.imap_connect import connect, disconnect  # noqa: E402
from gateway.schema import migrate  # noqa: E402
from gateway.store import Store  # noqa: E402
from tests.helpers import make_mail  # noqa: E402
from tests.servers.dovecot import PASSWORD, USER, Dovecot  # noqa: E402


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--messages", type=int, default=2000)
    args.add_argument("--size", type=int, default=50_000, help="bytes of body per message")
    options = args.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-imap-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = Dovecot(str(cert), str(key)).start()
    try:
        body = ("A line of a long log the customer attached.\n" * (options.size // 44 + 1))[:options.size]
        filler = IMAPClient("127.0.0.1", server.port, ssl=False)
        filler.login(USER, PASSWORD)
        for n in range(options.messages):
            filler.append("INBOX", make_mail(subject=f"Request {n}", message_id=f"<bench{n}@customer.example>",
                                             body=body))
        filler.logout()
        store = Store(f"sqlite:///{folder / 'bench.db'}")
        migrate(store)
        box = MailboxSettings(host="127.0.0.1", port=server.ssl_port, ca_file=str(cert), user=USER,
                              password=PASSWORD)
        reader = MailboxReader(box, ImapSettings(), store, utc_now)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        client = connect(box, 60)
        imported = reader.sync(client)
        disconnect(client)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{imported} messages of ~{options.size // 1000} KB over IMAPS in {elapsed:.1f} s: "
              f"{imported / elapsed:.0f} msgs/s, {imported * options.size / elapsed / 1e6:.1f} MB/s")
        print(f"peak RSS {peak / 1024:.0f} MB (before reading: {before / 1024:.0f} MB); "
              f"batches of at most {ImapSettings().batch_messages} messages / {ImapSettings().batch_bytes // 2**20} MiB")
        store.dispose()
    finally:
        server.close()


if __name__ == "__main__":
    main()
