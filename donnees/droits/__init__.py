"""Droits d'accès (CONCEPTION §6), vérifiés dans la couche de données et non seulement dans l'interface.

- :mod:`~donnees.droits.politique` : qui peut quoi (:func:`peut`, :func:`exiger` et le motif de refus en
  français), ce que chacun lit (:func:`filtrer_operations`, :func:`filtrer_financements`), les questions
  des pages (:func:`est_public`, :func:`lire_perimetre`) ;
- :mod:`~donnees.droits.facade` : :class:`MagasinProtege`, le magasin vu par un utilisateur (lectures
  filtrées, écritures vérifiées et journalisées à son nom) ; l'application ne manipule que cette enveloppe ;
- :mod:`~donnees.droits.administration` : écritures de l'administrateur (objectifs, nouvelles surfaces,
  paramètres, comptes), méthodes de la façade ;
- :mod:`~donnees.droits.changements` : une modification change-t-elle vraiment l'opération ?
- :mod:`~donnees.droits.communes` et :mod:`~donnees.droits.zones` : noms et contours des communes, et
  contrôle qu'une zone saisie est bien dans la commune déclarée.
"""

from donnees.droits.communes import lire_contours_communes, lire_noms_communes, nommer_commune
from donnees.droits.facade import MagasinProtege
from donnees.droits.politique import (
    ACTIONS,
    ACTIONS_ADMINISTRATEUR,
    ACTIONS_COMMUNE,
    ACTIONS_ECRITURE,
    CLES_MASQUEES_PUBLIC,
    COLONNES_MASQUEES_PUBLIC,
    TYPE_SITE_PRIVE,
    ErreurDroits,
    conditions_lecture_sql,
    est_public,
    exiger,
    filtrer_financements,
    filtrer_operations,
    lire_perimetre,
    peut,
)
from donnees.droits.zones import controler_zones_ecrites, verifier_zones_dans_commune

__all__ = [
    "ACTIONS",
    "ACTIONS_ADMINISTRATEUR",
    "ACTIONS_COMMUNE",
    "ACTIONS_ECRITURE",
    "CLES_MASQUEES_PUBLIC",
    "COLONNES_MASQUEES_PUBLIC",
    "TYPE_SITE_PRIVE",
    "ErreurDroits",
    "MagasinProtege",
    "conditions_lecture_sql",
    "controler_zones_ecrites",
    "est_public",
    "exiger",
    "filtrer_financements",
    "filtrer_operations",
    "lire_contours_communes",
    "lire_noms_communes",
    "nommer_commune",
    "lire_perimetre",
    "peut",
    "verifier_zones_dans_commune",
]
