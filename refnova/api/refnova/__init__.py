"""refnova's own APIs, beside the OpenStack ones: ``/refnova/v1/behaviours`` (the control API
of behaviours on request)."""
