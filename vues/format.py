"""Mise en forme des nombres à la française pour les vues (réexporte :mod:`donnees.format`)."""

from donnees.format import ESPACE_INSECABLE, formater_nombre  # noqa: F401
