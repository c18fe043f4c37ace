"""breakerlab.compat: other libraries' APIs in front of the verified breaker.

``breakerlab.compat.pybreaker`` is pybreaker 1.4.1's API (``CircuitBreaker``, its listeners,
storages and ``CircuitBreakerError``) driving ``breakerlab.runtime.CircuitBreaker``: code
written for pybreaker runs with one import changed. ``model/compat/README.md`` says how to
switch and lists every deliberate difference with its reason.

>>> from breakerlab.compat.pybreaker import CircuitBreaker
>>> breaker = CircuitBreaker(fail_max=5, reset_timeout=60)
>>> breaker.call(lambda: "ok")
'ok'
"""
