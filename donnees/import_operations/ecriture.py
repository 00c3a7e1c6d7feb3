"""Écriture des opérations préparées dans le magasin ou la façade des droits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from donnees.import_operations.apercu import preparer_import
from donnees.import_operations.correspondance import proposer_correspondance
from donnees.import_operations.lecture import lire_fichier
from donnees.import_operations.protocoles import (
    EcritureParLot,
    EcritureUneParUne,
    Progression,
    autoriser_creation,
    est_facade,
)
from donnees.import_operations.tables import ApercuImport, RapportImport
from donnees.erreurs import ErreurDonnees, ErreurPanne
from donnees.format import neutraliser_controles

logger = logging.getLogger(__name__)

MODES = ("tout_ou_rien", "lignes_valides")


# ------------------------------------------------------------------------------- écriture


def importer(apercu: ApercuImport, magasin_ou_facade: Any, auteur: str, mode: str = "tout_ou_rien",
             progression: Progression | None = None) -> RapportImport:
    """Écrit les opérations valides en une transaction (``importer_lot`` du magasin ou de la façade).

    ``tout_ou_rien`` : rien n'est écrit si une ligne a une erreur ; ``lignes_valides`` : seules les
    opérations sans erreur sont écrites. Les refus du magasin ou de la façade (droits, règles) sont
    rendus dans le rapport (``ecrit=False``) : rien n'est alors écrit. L'objet reçu peut être un
    :class:`~donnees.magasin.Magasin` ou une façade (:mod:`~donnees.import_operations.protocoles`) :
    ``importer_lot`` (une transaction) est préféré ; l'auteur n'est passé qu'au magasin, la façade
    connaît son utilisateur ; ``peut("creer", code_insee)`` d'une façade est consulté avant toute
    écriture (un refus ou une erreur refuse). Sans ``importer_lot``, les opérations sont créées une par une et,
    en « tout ou rien », celles déjà créées sont supprimées (suppression logique) si une suivante échoue.
    """
    if mode not in MODES:
        raise ErreurDonnees(f"Mode d'import « {mode} » inconnu : « tout_ou_rien » ou « lignes_valides ».",
                            "import", "mode")
    operations = list(apercu.operations)
    refusees = list(apercu.lignes_en_erreur)

    def rapport(ecrit: bool, identifiants: list[int], message: str, importees: list[int]) -> RapportImport:
        non_ecrites = refusees if ecrit else sorted(set(refusees) | set(apercu.lignes_valides))
        return RapportImport(mode=mode, ecrit=ecrit, identifiants=identifiants, lignes_importees=importees,
                             lignes_refusees=non_ecrites, message=message, erreurs=apercu.erreurs)

    if mode == "tout_ou_rien" and apercu.a_des_erreurs:
        lignes = ", ".join(str(n) for n in refusees[:10]) + (" …" if len(refusees) > 10 else "")
        return rapport(False, [], f"Import refusé : {apercu.nb_erreurs} erreur(s) dans {apercu.nom_fichier}"
                       + (f" (lignes {lignes})" if refusees else "") + ". Rien n'a été enregistré. Corrigez "
                       "le fichier, ou importez seulement les lignes valides.", [])
    if not operations:
        return rapport(False, [], f"Aucune opération valide dans {apercu.nom_fichier} : rien n'a été "
                       "enregistré.", [])
    importees = sorted(n for lignes in apercu.lignes_operations for n in lignes)
    cible = magasin_ou_facade
    if est_facade(cible):
        interdites = sorted({o["code_insee"] for o in operations if not autoriser_creation(cible, o["code_insee"])})
        if interdites:
            return rapport(False, [], "Import refusé : vous n'avez pas le droit de créer des opérations dans la "
                           f"ou les communes {', '.join(interdites)}. Rien n'a été enregistré.", [])
    try:
        identifiants = _ecrire(cible, operations, auteur, mode, progression)
    except _ImportPartiel as exc:
        return rapport(bool(exc.identifiants), exc.identifiants, exc.message,
                       importees if exc.identifiants else [])
    except ErreurPanne as exc:  # disque plein, base injoignable : le message dit déjà que rien n'est écrit
        return rapport(False, [], f"Import refusé : {exc}", [])
    except (ErreurDonnees, PermissionError) as exc:
        return rapport(False, [], f"Import refusé par le magasin : {neutraliser_controles(exc, garder=chr(10))} "
                       "Rien n'a été enregistré.", [])
    except (SQLAlchemyError, OSError) as exc:  # base ou disque en panne : la transaction est annulée
        # Niveau « info » : consigné pour l'administrateur (avec la trace), jamais affiché par la CLI.
        logger.info("Import de %s : écriture impossible (%s).", apercu.nom_fichier, type(exc).__name__,
                    exc_info=True)
        return rapport(False, [], f"Import de {apercu.nom_fichier} impossible : la base des opérations n'a pas pu "
                       "enregistrer le lot (base indisponible, disque plein ou donnée refusée par la base). "
                       "Rien n'a été enregistré. Réessayez plus tard ; si le problème persiste, prévenez "
                       "l'administrateur.", [])
    identifiants = [int(i) for i in identifiants]
    message = f"{len(identifiants)} opération(s) importée(s) depuis {apercu.nom_fichier}"
    if refusees:
        message += f" ; {len(refusees)} ligne(s) refusée(s) (voir les erreurs)"
    return rapport(True, identifiants, message + ".", importees)


def _ecrire(cible: Any, operations: list[dict], auteur: str, mode: str,
            progression: Progression | None) -> list[int]:
    """Écrit par lot si la cible sait le faire, sinon une par une ; l'auteur n'est passé qu'au magasin."""
    facade = est_facade(cible)
    if isinstance(cible, EcritureParLot):
        options = {"progression": progression} if progression is not None else {}
        if facade:
            return cible.importer_lot(operations, **options)
        return cible.importer_lot(operations, auteur, **options)
    if isinstance(cible, EcritureUneParUne):
        return _creer_une_par_une(cible, operations, auteur, mode, progression)
    raise ErreurDonnees("Import : l'objet fourni n'a ni « importer_lot » ni « creer_operation ».",
                        "import", "magasin")


class _ImportPartiel(Exception):
    """Échec en cours d'écriture une par une (façade sans ``importer_lot``)."""

    def __init__(self, message: str, identifiants: list[int]):
        super().__init__(message)
        self.message = message
        self.identifiants = identifiants


def _creer_une_par_une(cible: Any, operations: list[dict], auteur: str, mode: str,
                       progression: Progression | None) -> list[int]:
    """Écrit avec ``creer_operation``.

    « tout ou rien » : au premier refus, les opérations déjà créées sont supprimées (suppression
    logique, journalisée) ; « lignes valides » : les refusées sont sautées et citées dans le rapport.
    """
    avec_auteur = not est_facade(cible)
    identifiants: list[int] = []
    refus: list[str] = []
    for rang, operation in enumerate(operations, start=1):
        try:
            identifiants.append(int(cible.creer_operation(operation, auteur) if avec_auteur
                                    else cible.creer_operation(operation)))
        except (ErreurDonnees, PermissionError) as exc:
            nom = operation.get("nom")
            if mode == "lignes_valides":
                refus.append(f"« {nom} » ({exc})")
                continue
            if not identifiants:
                raise
            annulees = _annuler(cible, identifiants, auteur)
            if annulees == len(identifiants):
                raise _ImportPartiel(
                    f"Import refusé : l'opération « {nom} » a été refusée ({exc}). Les {annulees} opération(s) "
                    "déjà créée(s) ont été supprimées (restaurables par un administrateur) : rien n'est resté "
                    "enregistré.", []) from None
            raise _ImportPartiel(
                f"Import interrompu : l'opération « {nom} » a été refusée ({exc}) et les {len(identifiants)} "
                "opération(s) déjà créée(s) n'ont pas pu être annulées "
                f"(n° {', '.join(map(str, identifiants))}). Supprimez-les, ou corrigez le fichier et importez "
                "le reste.", identifiants) from None
        if progression is not None:
            progression(rang, len(operations))
    if refus:
        raise _ImportPartiel(f"{len(identifiants)} opération(s) importée(s) ; {len(refus)} refusée(s) à "
                             f"l'écriture : {' ; '.join(refus)}", identifiants)
    return identifiants


def _annuler(cible: Any, identifiants: list[int], auteur: str) -> int:
    """Supprime (suppression logique) les opérations déjà créées ; renvoie le nombre d'annulées."""
    supprimer = getattr(cible, "supprimer_operation", None)
    if not callable(supprimer):
        return 0
    avec_auteur = not est_facade(cible)
    annulees = 0
    for identifiant in identifiants:
        try:
            supprimer(identifiant, 1, auteur) if avec_auteur else supprimer(identifiant, 1)
            annulees += 1
        except Exception:  # annulation au mieux : l'échec est compté dans le rapport et consigné
            logger.exception("Import : l'opération n° %s créée n'a pas pu être annulée.", identifiant)
    return annulees


def importer_fichier(chemin_ou_octets: Any, magasin_ou_facade: Any, auteur: str,
                     mode: str = "tout_ou_rien", nom_fichier: str | None = None,
                     lecture: Mapping[str, Any] | None = None, progression: Progression | None = None,
                     **options: Any) -> tuple[ApercuImport, RapportImport]:
    """Enchaîne lecture, correspondance automatique, préparation et écriture (pour la CLI).

    ``lecture`` : options de :func:`lire_fichier` (``couche``, ``crs_declare``) ; ``progression(n, total)``
    après chaque paquet écrit (une seule transaction) ; ``options`` :
    celles de :func:`preparer_import` (``parcelles``, ``communes``, ``localiser_au_centroide``…).
    """
    table = lire_fichier(chemin_ou_octets, nom_fichier, **dict(lecture or {}))
    options.setdefault("magasin", magasin_ou_facade)
    apercu = preparer_import(table, proposer_correspondance(table), **options)
    return apercu, importer(apercu, magasin_ou_facade, auteur, mode, progression)


