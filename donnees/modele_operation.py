"""L'opération déclarée une fois (CONCEPTION §3.2), comme InVEST déclare un modèle dans son ``MODEL_SPEC``.

Chaque champ des modèles pydantic :class:`Operation`, :class:`Zone`, :class:`Financement` et
:class:`Photo` porte, dans son annotation, un :class:`Champ` : libellé français, unité, obligation,
visibilité publique, colonne SQL, synonymes d'en-têtes d'import, en-tête, aide et exemple du modèle
XLSX. De cette déclaration unique dérivent :

- les contrôles du magasin (:func:`verifier_operation`, messages français par un seul traducteur des
  erreurs pydantic, :func:`traduire_erreurs`) ;
- les colonnes SQL de la table ``operation`` (:func:`colonnes_sql`) ;
- la correspondance des colonnes d'import et le modèle XLSX (:func:`champs_import`) ;
- le masquage public (:func:`colonnes_masquees_public`) ;
- les libellés du formulaire, de l'historique et des exports (:func:`libelle`).

Ajouter un champ à l'opération, c'est ajouter une ligne à :class:`Operation` (et une révision Alembic
pour la colonne), plus, au besoin, sa place dans le formulaire.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, String, Text

from donnees import nomenclatures
from donnees.cadastre import MOTIF_CODE_INSEE as MOTIF_INSEE
from donnees.cadastre import MOTIF_ID_PARCELLE as MOTIF_PARCELLE
from donnees.erreurs import ErreurDonnees, decrire_invalidite
from donnees.format import formater_montant

ANNEE_MIN, ANNEE_MAX = 1950, 2100
TOLERANCE_EUR = 0.005

# Types de colonne SQL par nature de champ (la longueur d'un code est précisée par le champ).
TYPES_SQL = {"texte": Text, "nombre": Float, "entier": Integer, "booleen": Boolean, "date": Date,
             "horodatage": DateTime, "liste": Text}


@dataclass(frozen=True)
class Champ:
    """Ce que l'application sait d'un champ : tout ce qui s'affiche, se contrôle, s'importe ou se masque.

    ``nature`` : texte, code, nombre, entier, booleen, date, horodatage, liste (JSON en base) ou
    ``relation`` (liste d'enregistrements liés : zones, financements, photos, hors table).
    ``public`` : visible du public (sinon retiré des lectures publiques et des exports publics).
    ``stocke`` : colonne de la table (faux pour un champ calculé ou une relation).
    ``entete`` : en-tête du modèle XLSX (``None`` : colonne absente du modèle) ; ``synonymes`` :
    en-têtes reconnus à l'import (comparés sans accents, casse ni mots vides). ``rang_import`` : place
    dans la correspondance de l'import et ``rang_modele`` : colonne de la feuille « opérations » du
    modèle XLSX (``None`` : après les champs rangés, dans l'ordre de déclaration). ``saisie`` : libellé
    du formulaire de saisie quand il diffère du libellé (:func:`libelle_saisie`). ``exporte`` : colonne
    ajoutée, sous son libellé, à l'export des opérations (:func:`champs_exportes`).
    """

    libelle: str
    nature: str = "texte"
    unite: str | None = None
    obligatoire: str = "non"
    public: bool = True
    stocke: bool = True
    longueur: int | None = None
    defaut_sql: Any = None
    index: bool = False
    entete: str | None = None
    synonymes: tuple[str, ...] = ()
    aide: str = ""
    exemple: str = ""
    feuille: str = "opérations"
    rang_import: int | None = None
    rang_modele: int | None = None
    saisie: str = ""
    exporte: bool = False

    def type_sql(self):
        """Type SQLAlchemy de la colonne."""
        if self.longueur is not None:
            return String(self.longueur)
        return TYPES_SQL[self.nature]


# --------------------------------------------------------------------------- erreurs et traduction


def _refus(texte: str, champ: str | None = None) -> PydanticCustomError:
    """Erreur pydantic portant son texte français (et, pour une règle entre champs, le champ visé)."""
    contexte = {"texte": texte}
    if champ is not None:
        contexte["champ"] = champ
    return PydanticCustomError("desimper", "{texte}", contexte)


def est_absent(valeur: Any) -> bool:
    """Vrai pour ``None``, NA, NaN et le texte vide."""
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return True
    if isinstance(valeur, (float, np.floating)) and math.isnan(valeur):
        return True
    return isinstance(valeur, str) and not valeur.strip()


# ------------------------------------------------------------------------------- convertisseurs
# Chacun reçoit la valeur brute et renvoie la valeur propre, ou lève un refus au texte français.


def _texte(valeur: Any) -> str | None:
    if est_absent(valeur):
        return None
    if not isinstance(valeur, str):
        raise _refus(f"texte attendu (reçu {type(valeur).__name__}).")
    if "\x00" in valeur:  # PostgreSQL refuse l'octet nul : même refus, en français, sur les deux moteurs
        raise _refus("caractère nul (octet 0x00) interdit, souvent laissé par un fichier mal exporté. "
                     "Retirez-le du texte.")
    return valeur.strip()


def _texte_obligatoire(valeur: Any) -> str:
    if est_absent(valeur):
        raise _refus("obligatoire. Renseignez-le.")
    return _texte(valeur)


def _code_parmi(codes_de, defaut: str | None = None):
    def convertir(valeur: Any) -> str:
        codes = list(codes_de())
        if est_absent(valeur):
            if defaut is not None:
                return defaut
            raise _refus(f"obligatoire. Valeurs possibles : {', '.join(codes)}.")
        if not isinstance(valeur, str) or valeur.strip() not in codes:
            raise _refus(f"valeur « {valeur} » inconnue. Valeurs possibles : {', '.join(codes)}.")
        return valeur.strip()
    return convertir


def _nombre(valeur: Any) -> float | None:
    if est_absent(valeur):
        return None
    if isinstance(valeur, (bool, np.bool_)) or not isinstance(valeur, (numbers.Real, Decimal)):
        raise _refus(f"nombre attendu (reçu « {valeur} »).")
    nombre = float(valeur)
    if not math.isfinite(nombre):
        raise _refus("nombre fini attendu. Indiquez un nombre positif ou nul.")
    if nombre < 0:
        raise _refus(f"{nombre:g} est négatif. Indiquez un nombre positif ou nul.")
    return nombre


def _nombre_obligatoire(valeur: Any) -> float:
    if est_absent(valeur):
        raise _refus("obligatoire. Indiquez un nombre positif ou nul.")
    return _nombre(valeur)


def _entier(valeur: Any) -> int:
    if est_absent(valeur):
        return 0
    nombre = _nombre(valeur)
    if not float(nombre).is_integer():
        raise _refus(f"nombre entier attendu (reçu {nombre:g}).")
    return int(nombre)


def _booleen(valeur: Any) -> bool:
    if est_absent(valeur):
        return False
    if isinstance(valeur, (bool, np.bool_)):
        return bool(valeur)
    if isinstance(valeur, numbers.Integral) and valeur in (0, 1):
        return bool(valeur)
    raise _refus(f"oui/non attendu (True ou False), reçu « {valeur} ».")


def _date(valeur: Any) -> date | None:
    if est_absent(valeur):
        return None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, datetime):
        resultat = valeur.date()
    elif isinstance(valeur, date):
        resultat = valeur
    elif isinstance(valeur, str):
        try:
            resultat = date.fromisoformat(valeur.strip())
        except ValueError:
            raise _refus(f"date « {valeur} » illisible. Format attendu : AAAA-MM-JJ.") from None
    else:
        raise _refus(f"date attendue (reçu {type(valeur).__name__}).")
    if not ANNEE_MIN <= resultat.year <= ANNEE_MAX:
        raise _refus(f"date {resultat.isoformat()} invraisemblable (années {ANNEE_MIN} à {ANNEE_MAX}). "
                     "Corrigez l'année.")
    return resultat


def convertir_horodatage(valeur: Any) -> datetime | None:
    """Date et heure en UTC sans fuseau (texte ISO, Timestamp, datetime ou date)."""
    if est_absent(valeur):
        return None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, str):
        try:
            valeur = datetime.fromisoformat(valeur.strip())
        except ValueError:
            raise _refus(f"date et heure « {valeur} » illisibles. Format attendu : AAAA-MM-JJ HH:MM:SS.") from None
    if isinstance(valeur, pd.Timestamp):
        valeur = valeur.to_pydatetime()
    if isinstance(valeur, datetime):
        if valeur.tzinfo is not None:
            valeur = valeur.astimezone(timezone.utc).replace(tzinfo=None)
        return valeur
    if isinstance(valeur, date):
        return datetime(valeur.year, valeur.month, valeur.day)
    raise _refus(f"date et heure attendues (reçu {type(valeur).__name__}).")


def _code_insee(valeur: Any) -> str:
    if est_absent(valeur):
        raise _refus("obligatoire. Indiquez le code INSEE à 5 caractères (ex. 34301).")
    if not isinstance(valeur, str) or not MOTIF_INSEE.match(valeur.strip()):
        raise _refus(f"« {valeur} » n'est pas un code INSEE : 5 caractères attendus (ex. 34301, ou 2A004 "
                     "en Corse), en texte.")
    return valeur.strip()


_SEQUENCES = (list, tuple, np.ndarray, pd.Series)


def _parcelles(valeur: Any) -> list[str]:
    if valeur is None or (not isinstance(valeur, _SEQUENCES) and est_absent(valeur)):
        return []
    if isinstance(valeur, str) or not isinstance(valeur, _SEQUENCES):
        raise _refus("liste d'identifiants cadastraux attendue (ex. [\"34301000AB0123\"]).")
    resultat: list[str] = []
    for element in list(valeur):
        if not isinstance(element, str) or not MOTIF_PARCELLE.match(element.strip().upper()):
            raise _refus(f"identifiant « {element} » invalide : 14 caractères attendus (commune, préfixe, "
                         "section, numéro ; ex. 34301000AB0123).")
        identifiant = element.strip().upper()
        if identifiant not in resultat:
            resultat.append(identifiant)
    return resultat


def _liste(valeur: Any) -> list:
    if valeur is None:
        return []
    if isinstance(valeur, (str, bytes, Mapping)) or not isinstance(valeur, (list, tuple)):
        raise _refus("liste attendue.")
    return list(valeur)


def _liste_zones(valeur: Any) -> list:
    zones = _liste(valeur)
    if not zones:
        raise _refus("au moins une zone est obligatoire. Dessinez la surface désimperméabilisée.")
    return zones


def _geometrie(valeur: Any) -> BaseGeometry:
    if valeur is None:
        raise _refus("obligatoire. Dessinez le contour de la zone.")
    if not isinstance(valeur, BaseGeometry):
        if not (isinstance(valeur, Mapping) or hasattr(valeur, "__geo_interface__")):
            raise _refus(f"géométrie shapely attendue (reçu {type(valeur).__name__}).")
        try:
            valeur = shapely.geometry.shape(valeur)
        except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError):
            raise _refus("GeoJSON illisible.") from None
    if valeur.is_empty:
        raise _refus("géométrie vide. Dessinez le contour de la zone.")
    if valeur.geom_type not in ("Polygon", "MultiPolygon"):
        raise _refus(f"type « {valeur.geom_type} » non admis : une zone est une surface (Polygon ou "
                     "MultiPolygon), pas un point ni une ligne.")
    if shapely.has_z(valeur):
        valeur = shapely.force_2d(valeur)
    if not valeur.is_valid:
        raise _refus(f"géométrie invalide ({decrire_invalidite(valeur)}). Corrigez le contour (il ne doit "
                     "pas se recouper).")
    xmin, ymin, xmax, ymax = valeur.bounds
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise _refus("coordonnées hors de WGS84 : longitude et latitude en degrés (EPSG:4326) attendues. "
                     "La géométrie est-elle en Lambert-93 ? Reprojetez-la.")
    return valeur


def _chemin_photo(valeur: Any) -> str:
    """Nom d'une photo stockée par le magasin (:func:`donnees.photos.verifier_nom_photo`), jamais un chemin."""
    from donnees.photos import verifier_nom_photo

    try:
        return verifier_nom_photo(_texte_obligatoire(valeur))
    except ErreurDonnees as erreur:
        raise _refus(str(erreur).removeprefix("Photo : ")) from None


def _avec(convertisseur, champ: Champ):
    """Annotation d'un champ : son convertisseur (avant pydantic) et sa déclaration."""
    return BeforeValidator(convertisseur), champ


# ----------------------------------------------------------------------------------------- modèles


class _Modele(BaseModel):
    """Base : clés inconnues refusées, clés techniques ignorées, convertisseurs appliqués aux absents."""

    model_config = ConfigDict(extra="forbid", validate_default=True, arbitrary_types_allowed=True)
    CLES_IGNOREES: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _ecarter_cles_ignorees(cls, valeurs: Any) -> Any:
        if isinstance(valeurs, Mapping):
            return {k: v for k, v in valeurs.items() if k not in cls.CLES_IGNOREES}
        return valeurs


class Zone(_Modele):
    """Zone d'une opération : un contour et ses revêtements avant et après travaux."""

    CLES_IGNOREES: ClassVar[tuple[str, ...]] = ("zone_id", "id", "operation_id", "surface_m2")

    geometrie: Annotated[Any, *_avec(_geometrie, Champ(
        "géométrie", nature="geometrie", obligatoire="oui", stocke=False, feuille="zones"))] = None
    revetement_avant: Annotated[str, *_avec(_code_parmi(nomenclatures.codes_revetement), Champ(
        "revêtement avant travaux", rang_import=23, nature="code", obligatoire="oui", longueur=40, feuille="zones",
        entete="Revêtement avant",
        synonymes=("revetement_avant", "avant", "revetement_initial", "revetement_existant", "etat_initial",
                   "sol_avant", "revetement_avant_travaux", "occupation_avant"),
        aide="Code ou libellé du revêtement avant travaux (liste ci-contre).", exemple="enrobe"))] = None
    revetement_apres: Annotated[str, *_avec(_code_parmi(nomenclatures.codes_revetement), Champ(
        "revêtement après travaux", rang_import=24, nature="code", obligatoire="oui", longueur=40, feuille="zones",
        entete="Revêtement après",
        synonymes=("revetement_apres", "apres", "revetement_final", "revetement_projete", "sol_apres",
                   "revetement_apres_travaux", "amenagement", "occupation_apres"),
        aide="Code ou libellé du revêtement après travaux (liste ci-contre).", exemple="pelouse"))] = None


class Financement(_Modele):
    """Aide reçue par une opération."""

    CLES_IGNOREES: ClassVar[tuple[str, ...]] = ("financement_id", "id", "operation_id")

    financeur: Annotated[str, *_avec(_texte_obligatoire, Champ("financeur", obligatoire="oui"))] = None
    montant_eur: Annotated[float, *_avec(_nombre_obligatoire, Champ(
        "montant (€)", nature="nombre", unite="€", obligatoire="oui"))] = None


class Photo(_Modele):
    """Photo avant ou après travaux, rangée dans le dossier de données."""

    CLES_IGNOREES: ClassVar[tuple[str, ...]] = ("photo_id", "id", "operation_id")

    moment: Annotated[str, *_avec(_code_parmi(lambda: nomenclatures.MOMENTS_PHOTO), Champ(
        "moment (avant ou après)", nature="code", obligatoire="oui"))] = None
    chemin: Annotated[str, *_avec(_chemin_photo, Champ("chemin du fichier", obligatoire="oui"))] = None
    legende: Annotated[str | None, *_avec(_texte, Champ("légende"))] = None
    ajoutee_le: Annotated[datetime | None, *_avec(convertir_horodatage, Champ(
        "date d'ajout", nature="horodatage"))] = None


class Operation(_Modele):
    """Opération de désimperméabilisation saisie par une commune (CONCEPTION §3.2)."""

    code_insee: Annotated[str, *_avec(_code_insee, Champ(
        "code INSEE de la commune", rang_import=1, rang_modele=1,
        nature="code", obligatoire="oui", longueur=5, index=True,
        entete="Code INSEE",
        synonymes=("code_insee", "insee", "code_commune", "code_insee_commune", "insee_com", "insee_commune",
                   "codgeo", "depcom", "cog", "code_com", "commune", "nom_commune", "ville", "com"),
        aide="Code INSEE de la commune, 5 caractères.", exemple="34301",
        saisie="Commune"))] = None
    nom: Annotated[str, *_avec(_texte_obligatoire, Champ(
        "nom", rang_import=2, rang_modele=2, obligatoire="oui", entete="Nom de l'opération",
        synonymes=("nom", "nom_operation", "intitule", "libelle", "titre", "site", "nom_site", "projet",
                   "nom_projet", "name", "designation", "operation_nom", "intitule_operation"),
        aide="Nom de l'opération.", exemple="Cour de l'école Jules-Ferry",
        saisie="Nom de l'opération"))] = None
    type_site: Annotated[str, *_avec(_code_parmi(nomenclatures.lire_types_site), Champ(
        "type de site", rang_import=3, rang_modele=3,
        nature="code", obligatoire="oui", longueur=40, entete="Type de site",
        synonymes=("type_site", "type", "categorie", "nature", "typologie", "type_espace", "type_operation",
                   "type_lieu"),
        aide="Code ou libellé du type de site (liste ci-contre).", exemple="cour_ecole"))] = None
    statut: Annotated[str, *_avec(_code_parmi(lambda: nomenclatures.STATUTS), Champ(
        "statut", rang_import=4, rang_modele=4, nature="code", obligatoire="oui", longueur=20, entete="Statut",
        synonymes=("statut", "etat", "avancement", "status", "etat_avancement", "statut_operation"),
        aide="Code ou libellé du statut (liste ci-contre).", exemple="realisee"))] = None
    validation: Annotated[str, *_avec(_code_parmi(lambda: nomenclatures.VALIDATIONS, defaut="a_valider"), Champ(
        "validation", nature="code", longueur=20, defaut_sql="a_valider"))] = None
    commentaire_validation: Annotated[str | None, *_avec(_texte, Champ(
        "commentaire de validation", public=False))] = None
    date_fin_travaux: Annotated[date | None, *_avec(_date, Champ(
        "date de fin des travaux", rang_import=5, rang_modele=5, nature="date", obligatoire="si réalisée",
        entete="Date de fin des travaux (jj/mm/aaaa)",
        synonymes=("date_fin_travaux", "date", "fin_travaux", "date_fin", "date_realisation", "date_travaux",
                   "date_livraison", "date_reception", "date_achevement", "date_fin_chantier"),
        aide="Date de fin des travaux, jj/mm/aaaa (ou l'année seule).", exemple="15/09/2023",
        saisie="Fin des travaux (réelle ou prévue)"))] = None
    maitre_ouvrage: Annotated[str | None, *_avec(_texte, Champ(
        "maître d'ouvrage", rang_import=7, rang_modele=12, entete="Maître d'ouvrage",
        synonymes=("maitre_ouvrage", "maitrise_ouvrage", "moa", "porteur", "porteur_projet", "maitre_douvrage"),
        aide="Maître d'ouvrage.", exemple="Ville de Sète"))] = None
    description: Annotated[str | None, *_avec(_texte, Champ(
        "description", rang_import=14, rang_modele=13, entete="Description",
        synonymes=("description", "descriptif", "remarque", "remarques", "commentaire", "commentaires",
                   "observations", "observation", "notes", "note", "details"),
        aide="Ce qui a été fait."))] = None
    retour_experience: Annotated[str | None, *_avec(_texte, Champ(
        "retour d'expérience", rang_import=15, rang_modele=14, entete="Retour d'expérience",
        synonymes=("retour_experience", "rex", "retours_experience", "enseignements", "conseils", "retex"),
        aide="Difficultés, conseils.",
        saisie="Retour d'expérience (difficultés, conseils)"))] = None
    contact: Annotated[str | None, *_avec(_texte, Champ(
        "contact", rang_import=16, rang_modele=15, public=False, entete="Contact",
        synonymes=("contact", "referent", "email", "courriel", "mail", "telephone", "contact_referent"),
        aide="Personne à contacter.",
        saisie="Contact (adresse de service, pas de nom de personne)"))] = None
    cout_ht_eur: Annotated[float | None, *_avec(_nombre, Champ(
        "coût HT (€)", rang_import=8, rang_modele=6, nature="nombre", unite="€", public=False, entete="Coût HT (€)",
        synonymes=("cout_ht_eur", "cout_ht", "cout", "cout_eur", "couts", "montant", "montant_ht", "cout_total",
                   "cout_total_ht", "budget", "prix", "montant_travaux", "cout_travaux", "depense", "depenses",
                   "cout_operation"),
        aide="Coût hors taxes en euros.", exemple="120000"))] = None
    arbres_plantes: Annotated[int, *_avec(_entier, Champ(
        "arbres plantés", rang_import=11, rang_modele=9, nature="entier", defaut_sql=0, entete="Arbres plantés",
        synonymes=("arbres_plantes", "arbres", "nb_arbres", "nombre_arbres", "arbres_plantes_nb",
                   "nb_arbres_plantes", "nombre_arbres_plantes"),
        aide="Nombre d'arbres plantés.", exemple="4"))] = None
    deconnexion_reseau: Annotated[bool, *_avec(_booleen, Champ(
        "déconnexion du réseau", rang_import=12, rang_modele=10, nature="booleen", defaut_sql=False,
        entete="Déconnexion du réseau (oui/non)",
        synonymes=("deconnexion_reseau", "deconnexion", "deconnecte", "deconnexion_pluviale",
                   "eaux_pluviales_deconnectees", "deconnexion_eaux_pluviales"),
        aide="Eaux de pluie déconnectées du réseau : oui ou non.", exemple="oui",
        saisie="Eaux de pluie déconnectées du réseau"))] = None
    volume_stockage_m3: Annotated[float | None, *_avec(_nombre, Champ(
        "volume de stockage (m³)", rang_import=13, rang_modele=11,
        nature="nombre", unite="m³", entete="Volume de stockage (m³)",
        synonymes=("volume_stockage_m3", "volume_stockage", "stockage", "volume", "volume_m3", "stockage_m3"),
        aide="Volume de stockage des eaux de pluie (m³).", exemple="12",
        saisie="Volume de stockage des eaux de pluie (m³)"))] = None
    parcelles: Annotated[list[str], *_avec(_parcelles, Champ(
        "parcelles cadastrales", rang_import=22,
        nature="liste", public=False, defaut_sql="[]", obligatoire="une des deux",
        entete="Parcelles cadastrales", feuille="zones",
        synonymes=("parcelles", "parcelle", "references_cadastrales", "reference_cadastrale", "ref_cadastrale",
                   "refs_cadastrales", "ref_cadastrales", "cadastre", "idu", "id_parcelle", "id_parcelles",
                   "parcelles_cadastrales", "parcelle_cadastrale"),
        aide="Références cadastrales de la commune, séparées par des virgules (« AB 123 » ou identifiant à "
             "14 caractères).", exemple="AB 123, AB 124"))] = None
    surface_declaree_m2: Annotated[float | None, *_avec(_nombre, Champ(
        "surface déclarée (m²)", rang_import=10, rang_modele=8,
        nature="nombre", unite="m²", entete="Surface déclarée (m²)",
        synonymes=("surface_declaree_m2", "surface_declaree", "surface", "surface_m2", "superficie",
                   "superficie_m2", "surface_desimper_m2", "surface_desimper", "surface_desimpermeabilisee",
                   "surface_desimpermeabilisee_m2", "aire", "m2", "surface_totale"),
        aide="Surface annoncée (m²). Laissez vide si inconnue.", exemple="850",
        saisie="Surface déclarée (m²), si connue"))] = None
    surface_vegetalisee_m2: Annotated[float | None, *_avec(_nombre, Champ(
        "surface végétalisée (m²)", nature="nombre", unite="m²", entete="Surface végétalisée (m²)",
        synonymes=("surface_vegetalisee_m2", "surface_vegetalisee", "surface_verte", "surface_vegetale",
                   "surface_plantee", "espaces_verts_m2"),
        aide="Surface végétalisée après travaux (m²). Laissez vide si inconnue.", exemple="600",
        exporte=True))] = None
    localisation_approximative: Annotated[bool, *_avec(_booleen, Champ(
        "localisation approximative", nature="booleen", defaut_sql=False))] = None
    source: Annotated[str | None, *_avec(_texte, Champ(
        "source", rang_import=17, rang_modele=16, entete="Source",
        synonymes=("source", "source_url", "url", "lien", "reference_source", "sources"),
        aide="Source de l'information (URL, délibération…)."))] = None
    zones: Annotated[list[Zone], *_avec(_liste_zones, Champ(
        "zones", nature="relation", obligatoire="oui", stocke=False))] = None
    financements: Annotated[list[Financement], *_avec(_liste, Champ(
        "financements", rang_import=9, rang_modele=7, nature="relation", public=False, stocke=False,
        entete="Financements (financeur : montant ; …)",
        synonymes=("financements", "financeurs", "financeur", "financement", "aides", "aide", "subventions",
                   "subvention", "partenaires_financiers", "cofinanceurs"),
        aide="Financeurs et montants : « financeur : montant » séparés par « ; ».",
        exemple="Agence de l'eau : 50000 ; Région : 20000"))] = None
    photos: Annotated[list[Photo], *_avec(_liste, Champ("photos", nature="relation", stocke=False))] = None
    cree_le: Annotated[datetime | None, *_avec(convertir_horodatage, Champ(
        "date de création", nature="horodatage"))] = None
    cree_par: Annotated[str | None, *_avec(_texte, Champ("auteur de la création", public=False))] = None

    @model_validator(mode="after")
    def _controler_regles(self) -> Operation:
        """Règles entre champs : date si réalisée, commentaire si à corriger, aides ≤ coût."""
        if self.statut == "realisee" and self.date_fin_travaux is None:
            raise _refus("obligatoire quand le statut est « Réalisée ». Indiquez la date de fin des travaux.",
                         "date_fin_travaux")
        if self.validation == "a_corriger" and not self.commentaire_validation:
            raise _refus("obligatoire quand la validation est « À corriger ». Expliquez ce qu'il faut corriger.",
                          "commentaire_validation")
        total = sum(f.montant_eur for f in self.financements)
        if self.cout_ht_eur is not None and total > self.cout_ht_eur + TOLERANCE_EUR:
            raise _refus(f"le total des financements ({formater_montant(total)}) dépasse le coût HT "
                         f"({formater_montant(self.cout_ht_eur)}). Corrigez les montants ou le coût.", "financements")
        return self


# Champs tenus par le magasin ou calculés à la lecture : jamais saisis, mais libellés et masqués ici.
CHAMPS_GERES: dict[str, Champ] = {
    "id": Champ("numéro", nature="entier", stocke=False),
    "version": Champ("version", nature="entier", stocke=False),
    "modifie_par": Champ("auteur de la modification", public=False, stocke=False),
    "modifie_le": Champ("date de modification", nature="horodatage", stocke=False),
    "supprimee": Champ("supprimée", nature="booleen", stocke=False),
    "operation_id": Champ("numéro de l'opération", nature="entier", stocke=False),
    "surface_zones_m2": Champ("surface des zones (m²)", nature="nombre", unite="m²", stocke=False),
    "montant_aides_eur": Champ("montant des aides (€)", nature="nombre", unite="€", public=False, stocke=False),
    "annee": Champ("année", nature="entier", stocke=False),
    "nb_zones": Champ("nombre de zones", nature="entier", stocke=False),
}

# Colonnes propres au fichier d'import (ni stockées telles quelles, ni saisies dans le formulaire).
CHAMPS_FICHIER: dict[str, Champ] = {
    "cle_operation": Champ(
        "clé de l'opération", rang_import=0, rang_modele=0,
        obligatoire="oui si plusieurs zones", stocke=False, entete="Clé opération",
        synonymes=("cle_operation", "cle", "operation", "id_operation", "identifiant_operation", "code_operation",
                   "ref_operation", "reference_operation", "numero_operation", "num_operation", "n_operation",
                   "id", "identifiant", "fid_operation"),
        aide="Identifiant libre de l'opération (ex. OP1), recopié dans la feuille « zones » pour chaque zone.",
        exemple="OP1"),
    "annee": Champ(
        "année", rang_import=6, nature="entier", stocke=False,
        synonymes=("annee", "annee_realisation", "annee_travaux", "year", "millesime", "annee_fin_travaux",
                   "annee_fin")),
    "type_source": Champ(
        "nature de la source", rang_import=18, stocke=False,
        synonymes=("type_source", "nature_source", "origine_source", "categorie_source", "type_sources")),
    "precision_surface": Champ(
        "précision sur la surface", rang_import=19, stocke=False,
        synonymes=("precision_surface", "precisions_surface", "note_surface", "commentaire_surface",
                   "remarque_surface", "precision_surface_m2")),
    "precision_cout": Champ(
        "précision sur le coût", rang_import=20, stocke=False,
        synonymes=("precision_cout", "precisions_cout", "note_cout", "commentaire_cout", "remarque_cout",
                   "precision_montant", "precision_cout_eur")),
    "geometrie_wkt": Champ(
        "géométrie (WKT)", rang_import=21,
        nature="geometrie", obligatoire="une des deux", stocke=False, feuille="zones",
        entete="Géométrie (WKT, WGS84)", aide="Contour en WKT, longitude/latitude WGS84 (EPSG:4326).",
        exemple="POLYGON((3.6935 43.4030, 3.6945 43.4030, 3.6945 43.4037, 3.6935 43.4030))",
        synonymes=("geometrie_wkt", "wkt", "geometrie", "geometry", "geom", "the_geom", "wkt_geom",
                   "geometrie_wgs84", "contour", "polygone", "geometrie_wkt_wgs84")),
}


# ------------------------------------------------------------------------------------ dérivations


def declaration(modele: type[BaseModel], nom: str) -> Champ:
    """Le :class:`Champ` déclaré sur un champ d'un modèle."""
    return next(m for m in modele.model_fields[nom].metadata if isinstance(m, Champ))


def champs(modele: type[BaseModel] = Operation) -> dict[str, Champ]:
    """Champs d'un modèle, dans l'ordre de déclaration, avec leur déclaration."""
    return {nom: declaration(modele, nom) for nom in modele.model_fields}


def _tous_les_champs() -> dict[str, Champ]:
    tous: dict[str, Champ] = {}
    for modele in (Zone, Financement, Photo):
        tous.update(champs(modele))
    tous.update(CHAMPS_FICHIER)
    tous.update(CHAMPS_GERES)
    tous.update(champs(Operation))
    return tous


# Champs du journal qui ne sont pas des champs de l'opération (comptes, gestion) : libellés de l'historique.
LIBELLES_JOURNAL = {"derniere_connexion": "dernière connexion", "email": "adresse électronique", "role": "rôle",
                    "echecs_connexion": "échecs de connexion", "bloque_jusqua": "blocage jusqu'à",
                    "mot_de_passe_hash": "mot de passe", "actif": "compte actif"}
# Ressources (issue 16, partie 1 ; journal de la table « ressource »).
LIBELLES_JOURNAL.update({"fichier_nom": "nom du fichier", "fichier_chemin": "fichier stocké",
                         "fichier_type": "type du fichier", "fichier_taille": "taille du fichier",
                         "fichier_sha256": "empreinte du fichier", "partagee_territoires": "partage entre territoires",
                         "motif_masquage": "motif du masquage"})
# Champs des événements de l'agenda au journal (issue 16, partie 3 ; libellés de donnees/agenda.py).
LIBELLES_JOURNAL.update({"en_ligne": "en ligne", "places_max": "places", "partage_territoires": "partage avec les "
                         "autres territoires", "motif_annulation": "motif d'annulation",
                         "operation_ids": "opérations liées", "ressource_ids": "ressources liées"})


def libelle(nom: str) -> str:
    """Libellé français d'un champ de l'opération ou de ses listes, ou d'un champ du journal (comptes) ; le nom
    lui-même s'il est inconnu."""
    champ = _tous_les_champs().get(nom)
    return champ.libelle if champ is not None else LIBELLES_JOURNAL.get(nom, nom)


def libelles() -> dict[str, str]:
    """Tous les libellés : nom du champ → libellé français."""
    return {nom: champ.libelle for nom, champ in _tous_les_champs().items()}


def libelle_colonne(nom: str) -> str:
    """Libellé avec majuscule initiale, pour un en-tête de tableau ou d'export."""
    texte = libelle(nom)
    return texte[:1].upper() + texte[1:]


def resumer_changements(diff: Any, longueur_max: int = 200) -> str:
    """Champs touchés par une ligne du journal (diff JSON ou dictionnaire), par leurs libellés français."""
    try:
        contenu = json.loads(diff) if isinstance(diff, str) else diff
    except ValueError:
        return str(diff)[:longueur_max]
    if isinstance(contenu, Mapping):
        return ", ".join(sorted((libelle_colonne(str(nom)) for nom in contenu), key=str.casefold))[:longueur_max]
    return str(contenu)[:longueur_max]


CHAMPS_CREATION = ("cree_le", "cree_par")
CHAMPS_LISTES = tuple(nom for nom, c in champs().items() if c.nature == "relation")
CHAMPS_SCALAIRES = tuple(nom for nom in champs() if nom not in CHAMPS_LISTES + CHAMPS_CREATION)
CHAMPS_SAISIE = CHAMPS_SCALAIRES + CHAMPS_LISTES + CHAMPS_CREATION
CHAMPS_LECTURE_SEULE = tuple(CHAMPS_GERES)


def colonnes_masquees_public() -> tuple[str, ...]:
    """Colonnes d'une opération retirées des lectures publiques (déclarées ``public=False``)."""
    return tuple(nom for nom, c in {**champs(), **CHAMPS_GERES}.items()
                 if not c.public and c.nature != "relation")


def colonnes_sql(nullable_obligatoires: bool = True) -> list:
    """Colonnes SQLAlchemy de la table ``operation`` tirées des champs stockés de :class:`Operation`."""
    from sqlalchemy import Column

    colonnes = []
    for nom, champ in champs().items():
        if not champ.stocke or nom in CHAMPS_CREATION:
            continue
        obligatoire = champ.obligatoire == "oui" or champ.defaut_sql is not None
        colonnes.append(Column(nom, champ.type_sql(), nullable=not (obligatoire and nullable_obligatoires),
                               default=champ.defaut_sql, index=champ.index or None))
    return colonnes


def champs_exportes() -> tuple[str, ...]:
    """Champs de l'opération ajoutés à l'export des opérations (déclarés ``exporte=True``)."""
    return tuple(nom for nom, champ in champs().items() if champ.exporte)


def champs_import() -> dict[str, Champ]:
    """Colonnes reconnues à l'import : champs de l'opération et des zones qui ont des synonymes, et
    colonnes propres au fichier, rangés par ``rang_import`` (les non rangés ensuite, dans l'ordre de
    déclaration)."""
    candidats = {**CHAMPS_FICHIER, **champs(Operation), **champs(Zone)}
    retenus = [(nom, champ) for nom, champ in candidats.items() if champ.synonymes]
    declares = [nom for nom in {**champs(Operation), **CHAMPS_FICHIER, **champs(Zone)} if nom in candidats]
    retenus.sort(key=lambda paire: (paire[1].rang_import is None,
                                    paire[1].rang_import if paire[1].rang_import is not None else 0,
                                    declares.index(paire[0])))
    return dict(retenus)


# ----------------------------------------------------------------------------------- vérification


def _contexte_et_champ(lieu: tuple, contexte: str) -> tuple[str, str]:
    """« Opération, zone n° 2 », « revetement_avant » depuis le lieu d'une erreur pydantic."""
    noms = {"zones": "zone", "financements": "financement", "photos": "photo"}
    morceaux = list(lieu)
    if len(morceaux) >= 2 and morceaux[0] in noms and isinstance(morceaux[1], int):
        contexte = f"{contexte}, {noms[morceaux[0]]} n° {morceaux[1] + 1}"
        reste = morceaux[2:]
        return contexte, str(reste[0]) if reste else str(morceaux[0])
    return contexte, str(morceaux[0]) if morceaux else ""


def _texte_erreur(erreur: Mapping, modele_cle: type[BaseModel] | None) -> str:
    """Texte français d'une erreur pydantic (les nôtres portent déjà le leur)."""
    type_erreur = erreur["type"]
    if type_erreur == "desimper":
        return erreur["ctx"]["texte"]
    if type_erreur == "extra_forbidden":
        if modele_cle is Operation:
            return f"champ inconnu. Champs admis : {', '.join(CHAMPS_SAISIE)}."
        admises = ", ".join(modele_cle.model_fields) if modele_cle is not None else ""
        return f"clé inconnue. Clés admises : {admises}."
    if type_erreur in ("model_type", "dict_type", "model_attributes_type"):
        return f"dictionnaire attendu (reçu {type(erreur.get('input')).__name__})."
    return f"valeur « {erreur.get('input')} » refusée. Corrigez-la."


def _modele_du_lieu(lieu: tuple) -> type[BaseModel]:
    sous_modeles = {"zones": Zone, "financements": Financement, "photos": Photo}
    if len(lieu) >= 3 and lieu[0] in sous_modeles:
        return sous_modeles[lieu[0]]
    return Operation


def traduire_erreurs(exception: ValidationError, contexte: str, couche: str = "operation") -> ErreurDonnees:
    """La première erreur pydantic, en français : « contexte, champ « libellé » (nom) : texte ».

    L'ordre est celui de la saisie : champ inconnu d'abord, puis les champs dans l'ordre du modèle.
    """
    erreurs = exception.errors()
    erreurs.sort(key=lambda e: 0 if e["type"] == "extra_forbidden" and len(e["loc"]) == 1 else 1)
    erreur = erreurs[0]
    lieu = tuple(erreur["loc"])
    ctx, champ = _contexte_et_champ(lieu, contexte)
    if erreur["type"] == "desimper" and "champ" in erreur.get("ctx", {}):
        champ = erreur["ctx"]["champ"]
    if erreur["type"] in ("model_type", "dict_type", "model_attributes_type") and len(lieu) == 2:
        champ = str(lieu[0])
    texte = _texte_erreur(erreur, _modele_du_lieu(lieu))
    return ErreurDonnees(f"{ctx}, champ « {libelle(champ)} » ({champ}) : {texte}", couche, champ)


def verifier_operation(operation: Mapping, contexte: str = "Opération") -> dict:
    """Vérifie une saisie d'opération et la renvoie nettoyée ; lève :class:`ErreurDonnees` sinon.

    Rien n'est écrit. Les champs calculés ou tenus par le magasin (``id``, ``version``…) sont ignorés.
    """
    if not isinstance(operation, Mapping):
        raise ErreurDonnees(f"{contexte} : dictionnaire attendu (reçu {type(operation).__name__}).",
                            "operation")
    saisie = {k: v for k, v in operation.items() if k not in CHAMPS_LECTURE_SEULE}
    try:
        modele = Operation.model_validate(saisie)
    except ValidationError as exception:
        raise traduire_erreurs(exception, contexte) from None
    return modele.model_dump()


@dataclass(frozen=True)
class ChampFormulaire:
    """Ce qu'un widget du formulaire de saisie affiche d'un champ."""

    nom: str
    libelle: str
    unite: str | None = None
    aide: str = ""
    autres: dict = field(default_factory=dict)


def libelle_saisie(nom: str) -> str:
    """Libellé d'un widget du formulaire de saisie : celui déclaré pour la saisie, sinon le libellé."""
    champ = _tous_les_champs().get(nom)
    return champ.saisie if champ is not None and champ.saisie else libelle_colonne(nom)


def etiquette(nom: str) -> str:
    """Étiquette d'un widget : libellé avec majuscule et, s'il y a lieu, « obligatoire » marqué « * »."""
    champ = _tous_les_champs().get(nom)
    if champ is None:
        return nom
    texte = libelle_colonne(nom)
    return texte + (" *" if champ.obligatoire == "oui" else "")


def lister_champs(noms: Sequence[str]) -> list[Champ]:
    """Les déclarations de plusieurs champs, dans l'ordre demandé."""
    tous = _tous_les_champs()
    return [tous[nom] for nom in noms]
