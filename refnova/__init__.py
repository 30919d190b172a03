"""refnova: a tracing-instrumented reference implementation of Nova's create-server path."""
