"""Networks: a registry (`get_net`, `list_nets`); every net has `embed(x)`."""
from dclab.nets import convnet as _convnet  # noqa: F401  (registers convnet, convnet_bn)
from dclab.nets.registry import NETS, get_net, list_nets

__all__ = ["NETS", "get_net", "list_nets"]
