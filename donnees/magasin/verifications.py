"""Vérification d'une saisie d'opération (champs, zones, financements, photos) avant toute écriture.

Les convertisseurs propres à l'opération sont réunis ici, seuls, pour être remplacés d'un coup par le
modèle unique de l'opération (pydantic) : ``verifier_operation`` en est la seule entrée publique.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from donnees import nomenclatures
from donnees.magasin.convertisseurs import (
    _booleen,
    _code,
    _code_insee,
    _date,
    _entier,
    _erreur,
    _est_absent,
    _euros,
    _horodatage,
    _nombre,
    _texte,
)
from donnees.schemas import ErreurDonnees, decrire_invalidite

TOLERANCE_EUR = 0.005
MOTIF_PARCELLE = re.compile(r"^\d[\dAB]\d{3}[0-9A-Z]{3}[0-9A-Z]{2}\d{4}$")

CHAMPS_SCALAIRES = (
    "code_insee", "nom", "type_site", "statut", "validation", "commentaire_validation",
    "date_fin_travaux", "maitre_ouvrage", "description", "retour_experience", "contact", "cout_ht_eur",
    "arbres_plantes", "deconnexion_reseau", "volume_stockage_m3", "parcelles", "surface_declaree_m2",
    "localisation_approximative", "source",
)
CHAMPS_LISTES = ("zones", "financements", "photos")
CHAMPS_CREATION = ("cree_le", "cree_par")
CHAMPS_SAISIE = CHAMPS_SCALAIRES + CHAMPS_LISTES + CHAMPS_CREATION
# Champs calculés ou gérés par le magasin : ignorés à la création, refusés s'ils changent en modification.
CHAMPS_LECTURE_SEULE = ("id", "operation_id", "version", "modifie_par", "modifie_le", "supprimee",
                        "surface_zones_m2", "montant_aides_eur", "annee", "nb_zones")

_CLES_ZONE = ("geometrie", "revetement_avant", "revetement_apres")
_CLES_ZONE_IGNOREES = ("zone_id", "id", "operation_id", "surface_m2")
_CLES_FINANCEMENT = ("financeur", "montant_eur")
_CLES_FINANCEMENT_IGNOREES = ("financement_id", "id", "operation_id")
_CLES_PHOTO = ("moment", "chemin", "legende", "ajoutee_le")
_CLES_PHOTO_IGNOREES = ("photo_id", "id", "operation_id")


def _parcelles(contexte: str, valeur: Any) -> list[str]:
    if valeur is None or (not isinstance(valeur, (list, tuple, np.ndarray, pd.Series)) and _est_absent(valeur)):
        return []
    if isinstance(valeur, str) or not isinstance(valeur, (list, tuple, np.ndarray, pd.Series)):
        raise _erreur(contexte, "parcelles", "liste d'identifiants cadastraux attendue "
                                             "(ex. [\"34301000AB0123\"]).")
    resultat: list[str] = []
    for element in list(valeur):
        if not isinstance(element, str) or not MOTIF_PARCELLE.match(element.strip().upper()):
            raise _erreur(contexte, "parcelles", f"identifiant « {element} » invalide : 14 caractères "
                                                 "attendus (commune, préfixe, section, numéro ; ex. "
                                                 "34301000AB0123).")
        identifiant = element.strip().upper()
        if identifiant not in resultat:
            resultat.append(identifiant)
    return resultat


def _liste(contexte: str, champ: str, valeur: Any) -> list:
    if valeur is None:
        return []
    if isinstance(valeur, (str, bytes, Mapping)) or not isinstance(valeur, (list, tuple)):
        raise _erreur(contexte, champ, "liste attendue.")
    return list(valeur)


def _cles(contexte: str, champ: str, element: Any, admises: Sequence[str], ignorees: Sequence[str]) -> None:
    if not isinstance(element, Mapping):
        raise _erreur(contexte, champ, f"dictionnaire attendu (reçu {type(element).__name__}).")
    inconnues = [k for k in element if k not in admises and k not in ignorees]
    if inconnues:
        raise _erreur(contexte, str(inconnues[0]), f"clé inconnue. Clés admises : {', '.join(admises)}.")


def _geometrie(contexte: str, valeur: Any) -> BaseGeometry:
    champ = "geometrie"
    if valeur is None:
        raise _erreur(contexte, champ, "obligatoire. Dessinez le contour de la zone.")
    if not isinstance(valeur, BaseGeometry):
        if isinstance(valeur, Mapping) or hasattr(valeur, "__geo_interface__"):
            try:
                valeur = shapely.geometry.shape(valeur)
            except (ShapelyError, KeyError, IndexError, TypeError, ValueError, AttributeError):
                raise _erreur(contexte, champ, "GeoJSON illisible.") from None
        else:
            raise _erreur(contexte, champ, f"géométrie shapely attendue (reçu {type(valeur).__name__}).")
    if valeur.is_empty:
        raise _erreur(contexte, champ, "géométrie vide. Dessinez le contour de la zone.")
    if valeur.geom_type not in ("Polygon", "MultiPolygon"):
        raise _erreur(contexte, champ, f"type « {valeur.geom_type} » non admis : une zone est une surface "
                                       "(Polygon ou MultiPolygon), pas un point ni une ligne.")
    if shapely.has_z(valeur):
        valeur = shapely.force_2d(valeur)
    if not valeur.is_valid:
        raise _erreur(contexte, champ, f"géométrie invalide ({decrire_invalidite(valeur)}). Corrigez "
                                       "le contour (il ne doit pas se recouper).")
    xmin, ymin, xmax, ymax = valeur.bounds
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise _erreur(contexte, champ, "coordonnées hors de WGS84 : longitude et latitude en degrés "
                                       "(EPSG:4326) attendues. La géométrie est-elle en Lambert-93 ? "
                                       "Reprojetez-la.")
    return valeur


def _zones(contexte: str, valeur: Any) -> list[dict]:
    zones = _liste(contexte, "zones", valeur)
    if not zones:
        raise _erreur(contexte, "zones", "au moins une zone est obligatoire. Dessinez la surface "
                                         "désimperméabilisée.")
    codes = nomenclatures.codes_revetement()
    resultat = []
    for rang, zone in enumerate(zones, start=1):
        ctx = f"{contexte}, zone n° {rang}"
        _cles(ctx, "zones", zone, _CLES_ZONE, _CLES_ZONE_IGNOREES)
        resultat.append({
            "geometrie": _geometrie(ctx, zone.get("geometrie")),
            "revetement_avant": _code(ctx, "revetement_avant", zone.get("revetement_avant"), codes),
            "revetement_apres": _code(ctx, "revetement_apres", zone.get("revetement_apres"), codes),
        })
    return resultat


def _financements(contexte: str, valeur: Any) -> list[dict]:
    resultat = []
    for rang, financement in enumerate(_liste(contexte, "financements", valeur), start=1):
        ctx = f"{contexte}, financement n° {rang}"
        _cles(ctx, "financements", financement, _CLES_FINANCEMENT, _CLES_FINANCEMENT_IGNOREES)
        resultat.append({
            "financeur": _texte(ctx, "financeur", financement.get("financeur"), obligatoire=True),
            "montant_eur": _nombre(ctx, "montant_eur", financement.get("montant_eur"), obligatoire=True),
        })
    return resultat


def _chemin_photo(contexte: str, valeur: Any) -> str:
    chemin = _texte(contexte, "chemin", valeur, obligatoire=True).replace("\\", "/")
    posix = PurePosixPath(chemin)
    if posix.is_absolute() or re.match(r"^[A-Za-z]:", chemin) or ".." in posix.parts:
        raise _erreur(contexte, "chemin", f"« {chemin} » : chemin relatif au dossier de données attendu "
                                          "(ex. photos/op0012_avant.png), sans « .. ».")
    return str(posix)


def _photos(contexte: str, valeur: Any) -> list[dict]:
    resultat = []
    for rang, photo in enumerate(_liste(contexte, "photos", valeur), start=1):
        ctx = f"{contexte}, photo n° {rang}"
        _cles(ctx, "photos", photo, _CLES_PHOTO, _CLES_PHOTO_IGNOREES)
        resultat.append({
            "moment": _code(ctx, "moment", photo.get("moment"), nomenclatures.MOMENTS_PHOTO),
            "chemin": _chemin_photo(ctx, photo.get("chemin")),
            "legende": _texte(ctx, "legende", photo.get("legende")),
            "ajoutee_le": _horodatage(ctx, "ajoutee_le", photo.get("ajoutee_le")),
        })
    return resultat


def verifier_operation(operation: Mapping, contexte: str = "Opération") -> dict:
    """Vérifie une saisie d'opération et la renvoie nettoyée ; lève :class:`ErreurDonnees` sinon.

    Rien n'est écrit. Les champs calculés (``id``, ``version``…) sont ignorés.
    """
    if not isinstance(operation, Mapping):
        raise ErreurDonnees(f"{contexte} : dictionnaire attendu (reçu {type(operation).__name__}).",
                            "operation")
    inconnus = [k for k in operation if k not in CHAMPS_SAISIE and k not in CHAMPS_LECTURE_SEULE]
    if inconnus:
        raise _erreur(contexte, str(inconnus[0]), "champ inconnu. Champs admis : "
                                                  f"{', '.join(CHAMPS_SAISIE)}.")
    o = operation
    propre: dict[str, Any] = {
        "code_insee": _code_insee(contexte, "code_insee", o.get("code_insee")),
        "nom": _texte(contexte, "nom", o.get("nom"), obligatoire=True),
        "type_site": _code(contexte, "type_site", o.get("type_site"), nomenclatures.lire_types_site()),
        "statut": _code(contexte, "statut", o.get("statut"), nomenclatures.STATUTS),
        "validation": _code(contexte, "validation", o.get("validation"), nomenclatures.VALIDATIONS,
                            defaut="a_valider"),
        "commentaire_validation": _texte(contexte, "commentaire_validation", o.get("commentaire_validation")),
        "date_fin_travaux": _date(contexte, "date_fin_travaux", o.get("date_fin_travaux")),
    }
    for champ in ("maitre_ouvrage", "description", "retour_experience", "contact"):
        propre[champ] = _texte(contexte, champ, o.get(champ))
    propre["cout_ht_eur"] = _nombre(contexte, "cout_ht_eur", o.get("cout_ht_eur"))
    propre["arbres_plantes"] = _entier(contexte, "arbres_plantes", o.get("arbres_plantes"))
    propre["deconnexion_reseau"] = _booleen(contexte, "deconnexion_reseau", o.get("deconnexion_reseau"))
    propre["volume_stockage_m3"] = _nombre(contexte, "volume_stockage_m3", o.get("volume_stockage_m3"))
    propre["parcelles"] = _parcelles(contexte, o.get("parcelles"))
    propre["surface_declaree_m2"] = _nombre(contexte, "surface_declaree_m2", o.get("surface_declaree_m2"))
    propre["localisation_approximative"] = _booleen(contexte, "localisation_approximative",
                                                    o.get("localisation_approximative"))
    propre["source"] = _texte(contexte, "source", o.get("source"))

    if propre["statut"] == "realisee" and propre["date_fin_travaux"] is None:
        raise _erreur(contexte, "date_fin_travaux", "obligatoire quand le statut est « Réalisée ». "
                                                    "Indiquez la date de fin des travaux.")
    if propre["validation"] == "a_corriger" and not propre["commentaire_validation"]:
        raise _erreur(contexte, "commentaire_validation", "obligatoire quand la validation est "
                                                          "« À corriger ». Expliquez ce qu'il faut corriger.")

    propre["zones"] = _zones(contexte, o.get("zones"))
    propre["financements"] = _financements(contexte, o.get("financements"))
    propre["photos"] = _photos(contexte, o.get("photos"))
    total = sum(f["montant_eur"] for f in propre["financements"])
    if propre["cout_ht_eur"] is not None and total > propre["cout_ht_eur"] + TOLERANCE_EUR:
        raise _erreur(contexte, "financements", f"le total des financements ({_euros(total)}) dépasse le "
                                                f"coût HT ({_euros(propre['cout_ht_eur'])}). Corrigez les "
                                                "montants ou le coût.")
    propre["cree_le"] = _horodatage(contexte, "cree_le", o.get("cree_le"))
    propre["cree_par"] = _texte(contexte, "cree_par", o.get("cree_par"))
    return propre

