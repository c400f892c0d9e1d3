"""Ancillary services: FCR and aFRR reserve offered to the TSO's balancing markets."""
