"""The byte-bounded cache: least recently used evicted first, until the bytes fit."""

from cnnlab.jobs.cache import ByteCache


def test_eviction_keeps_the_most_recently_used_within_the_byte_bound():
    cache = ByteCache(100)
    cache.put("a", "A", 40)
    cache.put("b", "B", 40)
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("c", "C", 40)  # 120 > 100: b, the least recently used, goes
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert cache.bytes == 80 and len(cache) == 2
    cache.put("a", "A2", 90)  # replacing a: 90 + 40 > 100, so c goes too
    assert (cache.get("a"), "c" in cache, cache.bytes) == ("A2", False, 90)


def test_a_value_larger_than_the_bound_is_not_kept():
    cache = ByteCache(100)
    cache.put("small", 1, 10)
    cache.put("huge", 2, 101)
    assert ("huge" in cache, cache.get("small"), cache.bytes) == (False, 1, 10)
