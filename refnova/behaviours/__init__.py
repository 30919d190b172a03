"""Behaviours on request: failures a test asks for, each acting at the hop where Nova's real
failure happens, and marked on that hop's span.

``spec``       the kinds (a table: hop, parameters, defaults) and the parsing of a behaviour
``criteria``   ``RequestFacts`` and the regular expressions a behaviour applies by
``presets``    real Nova errors by name, each citing where its text comes from
``registry``   registering, the world file's ``behaviours``, choosing a request's behaviour
``applied``    ``Applied``, ``for_instance``, ``annotate`` and ``InjectedFault``

Behaviours live in the database (``refnova.db.behaviours``), so every API process and every
conductor sharing it sees the same ones, and a sequence's step is shared too.
"""

from refnova.behaviours.applied import Applied, InjectedFault, annotate, for_instance
from refnova.behaviours.criteria import RequestFacts
from refnova.behaviours.registry import (
    Parsed,
    choose,
    register,
    registered,
    seed,
    world_behaviours,
)
from refnova.behaviours.spec import KINDS, InvalidBehaviour, parse

__all__ = [
    "KINDS",
    "Applied",
    "InjectedFault",
    "InvalidBehaviour",
    "Parsed",
    "RequestFacts",
    "annotate",
    "choose",
    "for_instance",
    "parse",
    "register",
    "registered",
    "seed",
    "world_behaviours",
]
