"""``/networking``: Neutron's v2.0 networks, subnets, ports and security groups, list and
show, over the world (``app``; ``views`` gives the world's objects Neutron's shape)."""
