"""What a new config may not do to the queue in progress.

:func:`check` runs on the writer, in the step that renames the staged config file into place and swaps the
config in (``Hall.apply_config``), so what it sees cannot change before the swap, and a refused config leaves
the file as it was. It refuses (409) a config under which:

- a service with customers waiting or at a counter disappears (``service_in_use``);
- a counter serving a customer, or one a customer was sent to, disappears or stops serving that customer's
  service (``counter_in_use``);
- waiting customers' service would be served by no counter (``service_unserved``);
- the business day would move under tickets already issued: a change of ``business_day.start`` or
  ``business_day.timezone`` while tickets of the current business day wait or are at a counter
  (``business_day_open``), or one that would put the hall back into a business day that has ended
  (``business_day_ended``), whose numbers would be issued a second time. See docs/queue-rules.md.
"""
from __future__ import annotations

import datetime as dt

from .clock import business_day
from .errors import Conflict
from .settings import HallConfig
from .writer import Tx


def check(tx: Tx, old: HallConfig, new: HallConfig) -> None:
    """Raise Conflict when ``new`` would strand or renumber tickets issued under ``old``."""
    _check_services(tx, new)
    _check_counters(tx, new)
    _check_nobody_stranded(tx, new)
    _check_business_day(tx, old, new)


def _check_services(tx: Tx, new: HallConfig) -> None:
    used = {r[0] for r in tx.execute("SELECT DISTINCT service FROM tickets WHERE status IN ('waiting', 'called')")}
    gone = sorted(used - set(new.services))
    if gone:
        raise Conflict(f"Service {gone[0]!r} still has customers waiting or at a counter; "
                       "serve or transfer them before removing it.", code="service_in_use")


def _check_counters(tx: Tx, new: HallConfig) -> None:
    serving = {r[0] for r in tx.execute("SELECT counter FROM tickets WHERE status = 'called'")}
    gone = sorted(serving - set(new.counters))
    if gone:
        raise Conflict(f"Counter {gone[0]} is serving a customer; finish before removing it.",
                       code="counter_in_use")


def _check_nobody_stranded(tx: Tx, new: HallConfig) -> None:
    """Refuse a config under which some waiting customer could never be called."""
    for service, target in tx.execute("SELECT DISTINCT service, target_counter FROM tickets "
                                      "WHERE status = 'waiting'"):
        if target is not None:
            counter = new.counters.get(target)
            if counter is None or service not in counter["services"]:
                raise Conflict(f"Customers sent to counter {target} for {service!r} are waiting; that counter "
                               "must stay and keep serving it.", code="counter_in_use")
        elif not any(service in c["services"] for c in new.counters.values()):
            raise Conflict(f"Customers are waiting for {service!r}, but no counter would serve it.",
                           code="service_unserved")


def _check_business_day(tx: Tx, old: HallConfig, new: HallConfig) -> None:
    """A new day start or time zone is taken only while no ticket of the current business day is open, and
    never when it would make the hall go back to a business day that has ended."""
    if old.data["business_day"] == new.data["business_day"]:
        return
    today = business_day(tx.now, old.tz, old.day_start)
    open_now = tx.execute("SELECT count(*) FROM tickets WHERE status IN ('waiting', 'called') AND business_day = ?",
                          (today,)).fetchone()[0]
    if open_now:
        raise Conflict(f"{open_now} ticket(s) of the current business day are waiting or at a counter; the day "
                       "start and time zone can only be changed when nobody waits (after the last customer), "
                       "so that no number is issued twice and nobody's ticket expires early.",
                       code="business_day_open")
    then = business_day(tx.now, new.tz, new.day_start)
    if then < today:
        began = dt.datetime.combine(dt.date.fromisoformat(today), new.day_start, tzinfo=new.tz)
        raise Conflict(f"With the new day start it would be the business day of {then} again, which has ended, "
                       f"and its numbers would be issued twice. Save this change after {began:%H:%M} "
                       f"({new.data['business_day']['timezone']}), when the new day start has passed.",
                       code="business_day_ended")
