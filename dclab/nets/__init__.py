"""Networks: a registry (`get_net`, `list_nets`); every net has `embed(x)`.

Every module in this package is imported here, so its `@NETS.register` entries exist.
"""
from dclab.autoload import import_submodules
from dclab.nets.registry import NETS, accepted_options, get_net, list_nets, net_option_names

__all__ = ["NETS", "accepted_options", "get_net", "list_nets", "net_option_names"]

import_submodules(__name__, __path__)
