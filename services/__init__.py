"""Cas d'usage de Désimper, appelés par les deux façades (application et ligne de commande)."""
