"""Checks for bin/_setup.sh, reading the same settings the platform reads (.env, then the environment).

python bin/services.py postgres|redis           exit 0 when reachable
python bin/services.py postgres-is-local|redis-is-local
python bin/services.py redis-port
python bin/services.py create-database          creates DATABASE_URL's database when missing
"""

import sys
from pathlib import Path
from urllib.parse import urlparse

import environ
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}

env = environ.Env()
environ.Env.read_env(ROOT / ".env", overwrite=False)
DATABASE = env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/switchboard")
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")


def _connect(dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        dbname=dbname,
        host=DATABASE["HOST"] or "127.0.0.1",
        port=DATABASE["PORT"] or 5432,
        user=DATABASE["USER"] or "postgres",
        password=DATABASE["PASSWORD"] or None,
        connect_timeout=3,
        autocommit=True,
    )


def postgres_reachable() -> bool:
    try:
        _connect("postgres").close()
        return True
    except psycopg.Error:
        return False


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


def create_database() -> bool:
    with _connect("postgres") as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE["NAME"]]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE["NAME"]}"')
            print(f"==> Created database {DATABASE['NAME']}")
    return True


def print_redis_port() -> bool:
    print(urlparse(REDIS_URL).port or 6379)
    return True


CHECKS = {
    "postgres": postgres_reachable,
    "redis": redis_reachable,
    "postgres-is-local": lambda: (DATABASE["HOST"] or "") in LOCAL_HOSTS,
    "redis-is-local": lambda: (urlparse(REDIS_URL).hostname or "") in LOCAL_HOSTS,
    "redis-port": print_redis_port,
    "create-database": create_database,
}

if __name__ == "__main__":
    sys.exit(0 if CHECKS[sys.argv[1]]() else 1)
