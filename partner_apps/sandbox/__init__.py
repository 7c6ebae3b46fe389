"""A sandbox of the Microsoft cloud on this machine: the loopback fake (``fakecloud``), the
worlds the tests and the demo build on it (``world``: the SAM side of both example regions;
``customer_world``: their customers), and ``partner-apps demo``.

Nothing here is used by the Pulumi program or by the commands on the real path; it ships with
the package so that the customer side can be tried without Azure (``make demo``). Its servers
listen on 127.0.0.1 only, over TLS with a throw-away test CA, and stop by themselves.
"""
