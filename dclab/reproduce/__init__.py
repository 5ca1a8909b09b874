"""`reproduce`: the published tables as data, and a run that measures one entry under its protocol."""
from dclab.reproduce.run import BUDGET_TEXT, ReproduceResult, reproduce
from dclab.reproduce.tables import PUBLISHED, PublishedResult, find_published

__all__ = ["BUDGET_TEXT", "PUBLISHED", "PublishedResult", "ReproduceResult", "find_published", "reproduce"]
