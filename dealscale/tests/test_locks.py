import threading

import pytest

from dealscale.locks import run_exclusively, single_flight
from dealscale.models import TaskLock
from dealscale.redis_client import get_redis


@pytest.fixture
def without_redis(settings):
    settings.REDIS_URL = ""
    get_redis.cache_clear()
    yield
    get_redis.cache_clear()


def test_redis_lock_refuses_a_second_holder_and_frees_on_exit():
    with single_flight("job", ttl_seconds=30) as first:
        with single_flight("job", ttl_seconds=30) as second:
            assert first is True
            assert second is False
    with single_flight("job", ttl_seconds=30) as again:
        assert again is True


@pytest.mark.django_db
def test_database_lock_refuses_a_second_holder_and_frees_on_exit(without_redis):
    with single_flight("job", ttl_seconds=30) as first:
        with single_flight("job", ttl_seconds=30) as second:
            assert (first, second) == (True, False)
        assert TaskLock.objects.filter(name="job").count() == 1
    assert not TaskLock.objects.filter(name="job").exists()


@pytest.mark.django_db
def test_database_lock_of_a_crashed_holder_expires(without_redis):
    from datetime import timedelta

    from django.utils import timezone

    TaskLock.objects.create(name="job", owner="crashed", expires_at=timezone.now() - timedelta(seconds=1))
    with single_flight("job", ttl_seconds=30) as acquired:
        assert acquired is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_an_exclusive_task_run_it_once():
    entered = threading.Event()
    release = threading.Event()
    runs = []

    @run_exclusively("slow-job", ttl_seconds=30)
    def slow_job():
        runs.append(1)
        entered.set()
        release.wait(5)
        return "ran"

    results = []
    first = threading.Thread(target=lambda: results.append(slow_job()))
    first.start()
    entered.wait(5)
    results.append(slow_job())
    release.set()
    first.join()

    assert runs == [1]
    assert sorted(results, key=str) == [None, "ran"]


def test_redis_lock_is_really_in_redis():
    with single_flight("visible", ttl_seconds=30):
        assert get_redis().exists("dealscale:lock:visible") == 1
