"""Golden-fixture conformance: does an API answer each fixture's request as the contract does?

The modules, from the fixture file to the report:

``fixtures``      the fixture files, loaded and validated against ``fixtures/schema.json``
``placeholders``  ``{project_id}``-style placeholders and ``$repeat`` generators
``http``          a fixture's request on the wire (``HttpRequest``) and the ``HttpResponse``
``matcher``       an expected JSON value, with its markers, against the actual one
``results``       one fixture's outcome (pass, fail, Nova's own answer, skip) and the counts
``world``         which objects of the reference world (``fixtures/world.json``) a fixture names
``runners``       the in-process runner and the live one, with its clean-up
``selection``     ``-k``: the fixtures an and/or/not expression of words selects
``report``        the text report, JUnit XML and the Markdown table
``cli``           the ``refnova conformance`` sub-command
"""
