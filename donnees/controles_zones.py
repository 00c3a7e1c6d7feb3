"""Ancien chemin du contrôle des zones du formulaire : tout vit dans :mod:`donnees.zones` (réexport)."""

from donnees.zones import Constat, MessageZone, controler_zones

__all__ = ["Constat", "MessageZone", "controler_zones"]
