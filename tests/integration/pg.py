"""A private PostgreSQL 15 cluster for the region's tests: initdb in a
temporary folder, a free port, a unix socket in that folder, trust
authentication, fsync off, stopped and removed at the end.  Never the
machine's own PostgreSQL.

    from pg import Cluster
    pg = Cluster().start()          # or: with Cluster() as pg: ...
    pg.conninfo                     # "host=/tmp/mestys-pg.x port=N user=postgres dbname=postgres"
    pg.sql("SELECT count(*) FROM readings")  -> "42"  (psql -At, the independent checker)
    pg.stop(); pg.start()           # an outage, the same data folder
    pg.close()                      # stop and remove

As root (CI containers) initdb and postgres refuse to run, so they run as
the `postgres` user with runuser; as anyone else they run directly.  A
missing initdb is a failure, never a skip: scripts/deps.sh installs
postgresql-15, and a test that cannot reach PostgreSQL proves nothing."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("MESTYS_PG_BIN", "/usr/lib/postgresql/15/bin")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        initdb = os.path.join(BIN, "initdb")
        if not os.access(initdb, os.X_OK):
            raise AssertionError("%s is missing: install postgresql-15 (scripts/deps.sh)" % initdb)
        # short: the socket path must stay under ~107 bytes
        self.dir = tempfile.mkdtemp(prefix="mestys-pg.", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "pg.log")
        self.port = None
        self.running = False
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run([initdb, "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-sync"], what="initdb")

    def _run(self, argv, what, check=True):
        p = subprocess.run(self.as_user + argv, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s%s%s" % (what, p.returncode, p.stdout, p.stderr,
                                                               self.server_log()))
        return p

    def server_log(self):
        try:
            with open(self.log) as f:
                return "\n--- pg.log ---\n" + f.read()
        except OSError:
            return ""

    @property
    def conninfo(self):
        return "host=%s port=%d user=postgres dbname=postgres" % (self.dir, self.port)

    def start(self):
        """Starts (again, on the same data and port after the first time)."""
        for attempt in range(2):
            if self.port is None or attempt:
                self.port = _free_port()
            opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off" % (self.port, self.dir))
            p = self._run([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60",
                           "-o", opts, "start"], what="pg_ctl start", check=False)
            if p.returncode == 0:
                self.running = True
                return self
            # the free port was taken in between: once more on another one
            if "could not bind" not in self.server_log() or attempt:
                raise AssertionError("pg_ctl start failed:\n%s%s%s" % (p.stdout, p.stderr, self.server_log()))
        return self

    def stop(self, mode="fast"):
        if self.running:
            self._run([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"], what="pg_ctl stop")
            self.running = False

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, query, db="postgres"):
        """Runs SQL with psql (unaligned, tuples only); returns its output stripped."""
        p = subprocess.run([os.path.join(BIN, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                            "-p", str(self.port), "-U", "postgres", "-d", db, "-c", query],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("psql %r failed: %s" % (query, p.stderr))
        return p.stdout.strip()

    def create_database(self, name):
        self.sql('CREATE DATABASE "%s"' % name)
        return "host=%s port=%d user=postgres dbname=%s" % (self.dir, self.port, name)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
