"""``/identity``: the Keystone v3 subset that ``refnova serve`` serves itself.

Version discovery, tokens (the password and token methods, project-, domain- and unscoped)
and the service catalog, so that clients need no Keystone to reach the compute API.
``app`` is the WSGI application; ``authentication`` turns an auth request into a token's
claims; ``directory`` holds the world's domains, projects, users and roles; ``tokens`` signs
and verifies stateless tokens (the compute API accepts them too); ``catalog`` builds the
service catalog.
"""
