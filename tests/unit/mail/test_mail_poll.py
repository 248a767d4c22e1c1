"""The mailbox poll: quick looks first, then waits that double up to the poll interval."""

from ansible_collections.mailops.window.plugins.module_utils import _mail_probe


class FakeTime:
    """A clock that only moves when the poll sleeps; records every wait."""

    def __init__(self):
        self.now = 100.0
        self.waits = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds


def answers_after(looks):
    seen = []

    def check():
        seen.append(1)
        return "found" if len(seen) > looks else None
    return check


def test_waits_start_short_and_double_up_to_the_interval():
    time = FakeTime()
    result, attempts = _mail_probe.poll(answers_after(6), 60, 2, clock=time.clock, sleep=time.sleep)
    assert (result, attempts) == ("found", 7)
    assert time.waits == [0.25, 0.5, 1.0, 2, 2, 2]


def test_an_interval_shorter_than_the_first_wait_is_kept():
    time = FakeTime()
    _mail_probe.poll(answers_after(3), 60, 0.1, clock=time.clock, sleep=time.sleep)
    assert time.waits == [0.1, 0.1, 0.1]


def test_a_message_there_at_once_costs_no_wait():
    time = FakeTime()
    assert _mail_probe.poll(answers_after(0), 60, 2, clock=time.clock, sleep=time.sleep) == ("found", 1)
    assert time.waits == []


def test_gives_up_at_the_timeout_with_the_last_wait_cut_short():
    time = FakeTime()
    result, attempts = _mail_probe.poll(answers_after(10 ** 6), 3, 2, clock=time.clock, sleep=time.sleep)
    assert result is None
    # 0.25 + 0.5 + 1 = 1.75 s waited; 1.25 s remain, so the last wait is cut to them, then one last look.
    assert time.waits == [0.25, 0.5, 1.0, 1.25]
    assert attempts == 5
    assert time.now == 103.0
