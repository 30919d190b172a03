"""The parts of a devstack cloud around Nova that ``refnova serve`` serves itself.

They are not Nova, so they do not live in Nova's rooms. On the API's port, laid out as
devstack lays them out behind one web server:

``/identity``     a Keystone v3 subset: discovery, tokens (password and token methods), the
                  service catalog (``identity``)
``/image``        Glance's v2 images, list and show, from the world (``image``)
``/networking``   Neutron's v2.0 networks, subnets, ports and security groups, list and show,
                  from the world (``networking``)

``directory`` holds the world's domains, projects, users and roles; ``tokens`` signs and
verifies stateless tokens, which the compute API accepts too; ``catalog`` builds the
service catalog; ``dispatch`` sends each request to its service; ``services`` wires them.
"""
