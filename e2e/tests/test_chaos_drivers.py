"""The chaos run's driver threads on their own (no stack): a thread that dies is a violation, and the
after-sale thread reads the load's growing dict of orders without tripping over it."""

import threading
from typing import Any

from e2e.after_sale import AfterSale
from e2e.chaos import _driver


def test_a_driver_thread_that_raises_is_named_and_one_that_returns_is_not() -> None:
    stop, died = threading.Event(), list[str]()

    def broken(_: threading.Event) -> None:
        raise RuntimeError("dictionary changed size during iteration")

    hook, threading.excepthook = threading.excepthook, lambda args: None  # its traceback: not here
    try:
        for thread in (
            _driver(broken, stop, died, name="after-sale"),
            _driver(lambda _: 1, stop, died, name="load"),
        ):
            thread.start()
            thread.join()
    finally:
        threading.excepthook = hook
    assert died == ["the after-sale thread died: RuntimeError: dictionary changed size during iteration"]


def test_after_sale_picks_from_the_loads_orders_while_they_grow() -> None:
    # the load's dict, filled by its own threads as after-sale reads it (a chaos run's CI failure)
    orders: dict[str, str] = {f"declined-{n}": "decline" for n in range(200_000)}
    after_sale = AfterSale(client=Any, orders=orders, seed=1)  # type: ignore[arg-type]  # never called
    done = threading.Event()

    def place() -> None:
        number = 0
        while not done.is_set() and number < 400_000:  # enough to trip a reader that iterates it
            orders[f"placed-{number}"] = "decline"
            number += 1

    writer = threading.Thread(target=place)
    writer.start()
    try:
        picked = [after_sale._approved_order() for _ in range(30)]
    finally:
        done.set()
        writer.join()
    assert picked == [None] * 30  # no approved order to pick, and no RuntimeError
