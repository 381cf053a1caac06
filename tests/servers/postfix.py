"""A real Postfix with its own config directory, queue and maillog, listening on a loopback port, for one test.

It stands both in front of the gateway (support@ relayed to our SMTP port, billing@ piped to `gateway inject`)
and behind it as the outbound relay, delivering customer.example into a local Maildir the test reads."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from tests.helpers import free_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

_MAIN = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
relay_recipient_maps =
virtual_mailbox_domains = customer.example
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = texthash:{root}/etc/vmailbox
virtual_minimum_uid = 1
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
smtp_host_lookup = native
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
biff = no
"""

_MASTER = """\
127.0.0.1:{port} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def available() -> bool:
    return Path(POSTFIX).is_file() and os.geteuid() == 0


class Postfix:
    """`postfix -c DIR start` with a throwaway config, plus the given main.cf and master.cf lines and transport
    table (the deploy/postfix snippets, adapted); `{root}` in them is this instance's folder."""

    def __init__(self, main: str, master: str, transport: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gateway-postfix-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.main, self.master, self.transport = main, master, transport

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    def start(self) -> Postfix:
        nobody = pwd.getpwnam("nobody")
        for sub in ("etc", "spool", "data", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        shutil.chown(self.root / "data", "postfix")
        shutil.chown(self.root / "mail", nobody.pw_uid, nobody.pw_gid)
        here = str(self.root)
        (self.etc / "main.cf").write_text(_MAIN.format(root=here, uid=nobody.pw_uid, gid=nobody.pw_gid)
                                          + self.main.replace("{root}", here))
        (self.etc / "master.cf").write_text(_MASTER.format(port=self.port) + self.master.replace("{root}", here))
        (self.etc / "transport").write_text(self.transport)
        (self.etc / "vmailbox").write_text("anne@customer.example customer.example/anne/\n")
        self._postfix("start")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"postfix did not listen: {self.log()}")

    def _postfix(self, *command: str) -> None:
        done = subprocess.run([POSTFIX, "-c", str(self.etc), *command], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(command)}: {done.stderr} {self.log()}")

    def flush(self) -> None:
        """Try deferred mail now (postqueue -f), as an admin would after fixing the next hop."""
        subprocess.run(["postqueue", "-c", str(self.etc), "-f"], capture_output=True, timeout=30)

    def mailbox(self, local: str = "anne") -> list[Message]:
        """What was delivered to <local>@customer.example, oldest first."""
        folder = self.root / "mail" / "customer.example" / local / "new"
        return [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*"), key=lambda p: p.stat().st_mtime)]

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def close(self) -> None:
        try:
            self._postfix("stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            subprocess.run([POSTFIX, "-c", str(self.etc), "abort"], capture_output=True, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
