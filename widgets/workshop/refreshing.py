"""Screens that redraw themselves from the store, as other kernels change it.

Each Voilà page has its own kernel, so a screen learns of a round opening or a decision
arriving only by reading the store again. The reading runs as an asyncio task on the
kernel's own event loop, between the messages the page sends, and sets widget values:
no threads touch the widgets.
"""
from __future__ import annotations

import asyncio


class SelfRefreshing:
    """Mixin for a screen with ``refresh()``: call it every ``poll_seconds`` once started."""

    poll_seconds: float
    _task: asyncio.Task | None = None

    def refresh(self) -> None:
        raise NotImplementedError

    def store_unreachable(self, error: Exception) -> None:
        """Say on screen that the store cannot be read just now (the task keeps trying)."""
        raise NotImplementedError

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                self.refresh()
            except Exception as error:  # the store is briefly unreachable (a restart): keep trying
                self.store_unreachable(error)

    def start(self):
        """Refresh every ``poll_seconds`` on the kernel's event loop; returns the screen."""
        if self._task is None:
            self._task = asyncio.get_event_loop().create_task(self._poll())
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
