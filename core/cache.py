"""The embedded stack's shared cache: Django's database cache with an atomic incr().

Django's DatabaseCache.incr() is BaseCache's: a get(), then a set() in another statement
(and the set() gives the key the default timeout again). Two web processes counting failed
logins at once both read 3 and both wrote 4: a burst of parallel guesses was counted as one
or two (core/security.py counts every attempt before checking it). Here the read and the
write are one transaction holding the row: FOR UPDATE on PostgreSQL; on SQLite the settings'
IMMEDIATE transactions take the database's write lock at BEGIN. The expiry is kept, as
Redis's INCR keeps a key's TTL.
"""

import base64
import contextlib
import pickle

from django.core.cache.backends import db
from django.db import connections, models, router, transaction
from django.utils.timezone import now as tz_now


class DatabaseCache(db.DatabaseCache):
    def incr(self, key, delta=1, version=None):
        cache_key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        qn = connection.ops.quote_name
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        expression = models.Expression(output_field=models.DateTimeField())
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {qn('value')}, {qn('expires')} FROM {qn(self._table)} "  # noqa: S608
                f"WHERE {qn('cache_key')} = %s{lock}",
                [cache_key],
            )
            row = cursor.fetchone()
            expires = row[1] if row else None
            for converter in converters if row else ():
                expires = converter(expires, expression, connection)
            if row is None or expires < tz_now():
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(  # noqa: S301 - our own rows, as Django's get() reads them
                base64.b64decode(connection.ops.process_clob(row[0]).encode())
            )
            value += delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {qn(self._table)} SET {qn('value')} = %s "  # noqa: S608
                f"WHERE {qn('cache_key')} = %s",
                [encoded, cache_key],
            )
        return value


_DECREMENT_IF_PRESENT = (
    "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decrby', KEYS[1], ARGV[1]) "
    "end return false"
)


def counter_add(cache, key, window: int) -> int:
    """Count one on `key`, which expires `window` seconds after its first count: in one step
    on Redis (INCR and EXPIRE NX in a MULTI: Django's incr() is EXISTS then INCRBY, and a key
    expiring between the two came back with no expiry, counting for ever), add() or our
    row-holding incr() elsewhere."""
    from django.core.cache.backends.redis import RedisCache

    if isinstance(cache, RedisCache):
        raw = cache.make_and_validate_key(key)
        with cache._cache.get_client(raw, write=True).pipeline() as pipe:
            pipe.incr(raw)
            pipe.expire(raw, window, nx=True)
            count, _ = pipe.execute()
        return int(count)
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=window)
        return 1


def counter_take_back(cache, key) -> None:
    """Take one count back, if the key still exists (never bringing an expired one back, with
    no expiry, below zero)."""
    from django.core.cache.backends.redis import RedisCache

    if isinstance(cache, RedisCache):
        raw = cache.make_and_validate_key(key)
        cache._cache.get_client(raw, write=True).eval(_DECREMENT_IF_PRESENT, 1, raw, 1)
        return
    with contextlib.suppress(ValueError):  # expired meanwhile
        cache.decr(key)
