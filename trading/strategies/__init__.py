"""Strategy logic: pure, typed, versioned. No Django, no network, no clock.

``base`` (the interface and its data types), ``market`` (read-only market view), ``regime``,
``contracts`` (Deribit ticks, steps, fees), ``screen`` and ``manage`` (shared selling rules),
``covered_call`` and ``cash_secured_put``, ``registry`` (logic kind -> class), ``runner``
(isolated calls), ``params`` (parameter schemas and presets).
"""
