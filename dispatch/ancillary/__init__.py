"""Ancillary bids: a virtual asset's FCR and aFRR reserve offered into the German balancing
markets through the operator. Pure functions of values, like the rest of ``dispatch``."""
