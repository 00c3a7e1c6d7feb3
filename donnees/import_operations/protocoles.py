"""Ce que l'import attend du magasin ou de la façade des droits, décrit par des ``typing.Protocol``.

Deux sortes de cibles, reconnues à ce qu'elles savent faire, jamais à la signature de leurs méthodes :

- une **façade** (:class:`~donnees.droits.MagasinProtege`) connaît son utilisateur : elle répond à
  ``peut(action, code_insee)`` (:class:`Droits`) et écrit sans auteur (:class:`FacadeUneParUne`,
  :class:`FacadeParLot`) ;
- un **magasin** (:class:`~donnees.magasin.Magasin`) n'a pas ``peut`` et écrit au nom de l'auteur donné
  (:class:`MagasinUneParUne`, :class:`MagasinParLot`).

Les droits ne s'ouvrent jamais par défaut : un ``peut()`` qui refuse, ou qui lève, refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import geopandas as gpd
from sqlalchemy.exc import SQLAlchemyError

from donnees.erreurs import ErreurDonnees

logger = logging.getLogger(__name__)

Progression = Callable[[int, int], Any]
Verificateur = Callable[[Mapping, str], dict]


@runtime_checkable
class Droits(Protocol):
    """Façade qui sait si son utilisateur peut faire une action dans une commune."""

    def peut(self, action: str, code_insee: str | None = None) -> bool: ...


@runtime_checkable
class EcritureParLot(Protocol):
    """Cible qui écrit un lot d'opérations en une transaction (``importer_lot``)."""

    def importer_lot(self, operations: Sequence[Mapping], *args: Any, **kwargs: Any) -> list[int]: ...


@runtime_checkable
class EcritureUneParUne(Protocol):
    """Cible qui crée les opérations une par une (``creer_operation``)."""

    def creer_operation(self, operation: Mapping, *args: Any) -> int: ...


class MagasinParLot(Protocol):
    """Magasin : ``importer_lot(operations, auteur, progression=None)``."""

    def importer_lot(self, operations: Sequence[Mapping], auteur: str,
                     progression: Progression | None = None) -> list[int]: ...


class FacadeParLot(Droits, Protocol):
    """Façade : ``importer_lot(operations, progression=None)`` au nom de son utilisateur."""

    def importer_lot(self, operations: Sequence[Mapping], progression: Progression | None = None) -> list[int]: ...


class MagasinUneParUne(Protocol):
    """Magasin : création et suppression logique au nom d'un auteur."""

    def creer_operation(self, operation: Mapping, auteur: str) -> int: ...

    def supprimer_operation(self, operation_id: int, version_attendue: int, auteur: str) -> int: ...


class FacadeUneParUne(Droits, Protocol):
    """Façade : création et suppression logique au nom de son utilisateur."""

    def creer_operation(self, operation: Mapping) -> int: ...

    def supprimer_operation(self, operation_id: int, version_attendue: int) -> int: ...


@runtime_checkable
class LectureZones(Protocol):
    """Zones déjà enregistrées (contrôle des chevauchements)."""

    def lire_zones(self) -> gpd.GeoDataFrame: ...


@runtime_checkable
class LectureOperations(Protocol):
    """Opérations déjà enregistrées (contrôle des doublons)."""

    def lire_operations(self) -> gpd.GeoDataFrame: ...


def est_facade(cible: Any) -> bool:
    """Vrai pour une façade qui connaît son utilisateur (elle répond à ``peut``) : on ne lui passe pas d'auteur."""
    return isinstance(cible, Droits)


def autoriser_creation(cible: Droits, code_insee: str) -> bool:
    """``cible.peut("creer", code_insee)`` ; un refus **ou une erreur** refuse (jamais d'ouverture par défaut)."""
    try:
        return bool(cible.peut("creer", code_insee))
    except (ErreurDonnees, PermissionError):
        return False
    except Exception:  # toute autre erreur refuse aussi, et elle est consignée
        logger.exception("Droits : peut(« creer », %s) a échoué ; création refusée.", code_insee)
        return False


def lire_au_mieux(lecture: Callable[[], Any], quoi: str) -> Any:
    """Lecture qui sert un contrôle facultatif : None (contrôle sauté, consigné) si elle est refusée ou impossible."""
    try:
        return lecture()
    except (ErreurDonnees, PermissionError, SQLAlchemyError, OSError):  # droits, base indisponible
        logger.warning("Import : %s illisibles, contrôle sauté.", quoi, exc_info=True)
        return None
