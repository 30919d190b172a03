"""Plain helpers the tests import (the fixtures are in the conftest.py files).

- ``deployment``: an in-process deployment and a WebOb client of it;
- ``polling``: the one polling loop, and ``wait_for_status`` on top of it;
- ``processes``: ``refnova`` in child processes, ``free_port``, a clean environment;
- ``http``: an HTTP client of a served ``refnova`` process;
- ``tracing``: span recording per test and what a whole create trace holds;
- ``otlp``: OTLP/HTTP and OTLP/gRPC receivers;
- ``keystone``: Keystone v3 token bodies and ``responses`` stubs;
- ``services``: RabbitMQ vhosts and PostgreSQL databases for the integration tests;
- ``cluster``: API and conductor processes over one database and transport, threads at once;
- ``conformance``: running ``refnova conformance`` and reading its JUnit report.
"""
