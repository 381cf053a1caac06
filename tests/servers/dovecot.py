"""A real Dovecot on loopback ports with its own config, base_dir and maildir store, for one test."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.helpers import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
USER, PASSWORD = "support", "s3cret"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
{dh}
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
first_valid_gid = {gid}
default_internal_user = {internal}
default_login_user = {login}
{extra}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
"""


def available() -> bool:
    return Path(DOVECOT).is_file()


class Dovecot:
    """`dovecot -F` with a throwaway config; `extra` adds config lines (e.g. imap_capability to hide IDLE)."""

    def __init__(self, cert: str, key: str, extra: str = "") -> None:
        # Not under pytest's tmp_path: Dovecot drops to an unprivileged mail user who must reach the store.
        self.root = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))
        self.root.chmod(0o755)
        self.port, self.ssl_port = free_port(), free_port()
        self.cert, self.key, self.extra = cert, key, extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def _ids(self) -> tuple[int, int, str, str]:
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid()).pw_name
            return os.geteuid(), os.getegid(), me, me
        mail = pwd.getpwnam("dovecot")
        return mail.pw_uid, mail.pw_gid, "dovecot", "dovenull"

    def start(self) -> Dovecot:
        uid, gid, internal, login = self._ids()
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        (self.root / "home").chmod(0o777)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        dh = "ssl_dh = </usr/share/dovecot/dh.pem" if Path("/usr/share/dovecot/dh.pem").is_file() else ""
        self.config.write_text(_CONFIG.format(root=self.root, cert=self.cert, key=self.key, dh=dh, uid=uid, gid=gid,
                                              internal=internal, login=login, port=self.port,
                                              ssl_port=self.ssl_port, extra=self.extra))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        self._wait(True)
        return self

    def _wait(self, up: bool) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                if up:
                    return
            except OSError:
                if not up:
                    return
            if self.process is not None and self.process.poll() is not None and up:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()} {self.log()}")
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not {'start' if up else 'stop'}: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None
        self._wait(False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def doveadm(self, *args: str) -> str:
        done = subprocess.run([DOVEADM, "-c", str(self.config), *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {done.stderr}")
        return done.stdout

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
