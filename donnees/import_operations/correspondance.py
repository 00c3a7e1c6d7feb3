"""Champs importables et correspondance des colonnes d'un fichier avec ces champs.

Une seule table, :data:`CHAMPS`, décrit chaque champ : libellé des messages, champ obligatoire, place dans
le modèle XLSX (en-tête, feuille, aide, exemple) ; les synonymes d'en-têtes sont dans le fichier de données
``synonymes_entetes.csv`` (champ, synonyme, dans l'ordre de préférence). Les listes historiques
(:data:`CHAMPS_IMPORT`, :data:`SYNONYMES`, :data:`ENTETES_OPERATIONS`, :data:`ENTETES_ZONES`,
:data:`AIDES_MODELE`) en sont déduites : remplacer la table (par un modèle de l'opération, plus tard)
les change toutes d'un coup.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from donnees.import_operations.tables import TableImportee
from donnees.import_operations.valeurs import _normaliser
from donnees.schemas import ErreurDonnees

FICHIER_SYNONYMES = Path(__file__).with_name("synonymes_entetes.csv")
FEUILLE_OPERATIONS, FEUILLE_ZONES, FEUILLE_AIDE = "opérations", "zones", "aide"


@dataclass(frozen=True)
class ChampImport:
    """Un champ importable : nom, libellé, obligation, et sa colonne du modèle XLSX (en-tête, aide, exemple).

    ``rang_modele`` : rang de la colonne dans la feuille « opérations » du modèle (None : absente) ;
    ``zone`` : champ d'une zone (feuille « zones ») ; ``modele_obligatoire`` : texte « Obligatoire : … »
    de l'aide du modèle.
    """

    nom: str
    libelle: str
    requis: bool = False
    zone: bool = False
    rang_modele: int | None = None
    entete: str | None = None
    modele_obligatoire: str = "non"
    aide: str = ""
    exemple: str = ""


CHAMPS: tuple[ChampImport, ...] = (
    ChampImport("cle_operation", "clé de l'opération", zone=True, rang_modele=0, entete="Clé opération",
                modele_obligatoire="oui si plusieurs zones",
                aide="Identifiant libre de l'opération (ex. OP1), recopié dans la feuille « zones » pour chaque "
                     "zone.", exemple="OP1"),
    ChampImport("code_insee", "code INSEE de la commune", rang_modele=1, entete="Code INSEE",
                modele_obligatoire="oui", aide="Code INSEE de la commune, 5 caractères.", exemple="34301"),
    ChampImport("nom", "nom", requis=True, rang_modele=2, entete="Nom de l'opération", modele_obligatoire="oui",
                aide="Nom de l'opération.", exemple="Cour de l'école Jules-Ferry"),
    ChampImport("type_site", "type de site", requis=True, rang_modele=3, entete="Type de site",
                modele_obligatoire="oui", aide="Code ou libellé du type de site (liste ci-contre).",
                exemple="cour_ecole"),
    ChampImport("statut", "statut", requis=True, rang_modele=4, entete="Statut", modele_obligatoire="oui",
                aide="Code ou libellé du statut (liste ci-contre).", exemple="realisee"),
    ChampImport("date_fin_travaux", "date de fin des travaux", rang_modele=5,
                entete="Date de fin des travaux (jj/mm/aaaa)", modele_obligatoire="si réalisée",
                aide="Date de fin des travaux, jj/mm/aaaa (ou l'année seule).", exemple="15/09/2023"),
    ChampImport("annee", "année"),
    ChampImport("maitre_ouvrage", "maître d'ouvrage", rang_modele=12, entete="Maître d'ouvrage",
                aide="Maître d'ouvrage.", exemple="Ville de Sète"),
    ChampImport("cout_ht_eur", "coût HT (€)", rang_modele=6, entete="Coût HT (€)",
                aide="Coût hors taxes en euros.", exemple="120000"),
    ChampImport("financements", "financements", rang_modele=7, entete="Financements (financeur : montant ; …)",
                aide="Financeurs et montants : « financeur : montant » séparés par « ; ».",
                exemple="Agence de l'eau : 50000 ; Région : 20000"),
    ChampImport("surface_declaree_m2", "surface déclarée (m²)", rang_modele=8, entete="Surface déclarée (m²)",
                aide="Surface annoncée (m²). Laissez vide si inconnue.", exemple="850"),
    ChampImport("arbres_plantes", "arbres plantés", rang_modele=9, entete="Arbres plantés",
                aide="Nombre d'arbres plantés.", exemple="4"),
    ChampImport("deconnexion_reseau", "déconnexion du réseau", rang_modele=10,
                entete="Déconnexion du réseau (oui/non)",
                aide="Eaux de pluie déconnectées du réseau : oui ou non.", exemple="oui"),
    ChampImport("volume_stockage_m3", "volume de stockage (m³)", rang_modele=11, entete="Volume de stockage (m³)",
                aide="Volume de stockage des eaux de pluie (m³).", exemple="12"),
    ChampImport("description", "description", rang_modele=13, entete="Description", aide="Ce qui a été fait."),
    ChampImport("retour_experience", "retour d'expérience", rang_modele=14, entete="Retour d'expérience",
                aide="Difficultés, conseils."),
    ChampImport("contact", "contact", rang_modele=15, entete="Contact", aide="Personne à contacter."),
    ChampImport("source", "source", rang_modele=16, entete="Source",
                aide="Source de l'information (URL, délibération…)."),
    ChampImport("type_source", "nature de la source"),
    ChampImport("precision_surface", "précision sur la surface"),
    ChampImport("precision_cout", "précision sur le coût"),
    ChampImport("geometrie_wkt", "géométrie (WKT)", zone=True, entete="Géométrie (WKT, WGS84)",
                modele_obligatoire="une des deux",
                aide="Contour en WKT, longitude/latitude WGS84 (EPSG:4326).",
                exemple="POLYGON((3.6935 43.4030, 3.6945 43.4030, 3.6945 43.4037, 3.6935 43.4030))"),
    ChampImport("parcelles", "parcelles cadastrales", zone=True, entete="Parcelles cadastrales",
                modele_obligatoire="une des deux",
                aide="Références cadastrales de la commune, séparées par des virgules (« AB 123 » ou identifiant "
                     "à 14 caractères).", exemple="AB 123, AB 124"),
    ChampImport("revetement_avant", "revêtement avant travaux", zone=True, entete="Revêtement avant",
                modele_obligatoire="oui",
                aide="Code ou libellé du revêtement avant travaux (liste ci-contre).", exemple="enrobe"),
    ChampImport("revetement_apres", "revêtement après travaux", zone=True, entete="Revêtement après",
                modele_obligatoire="oui",
                aide="Code ou libellé du revêtement après travaux (liste ci-contre).", exemple="pelouse"),
)


def _lire_synonymes(chemin: Path = FICHIER_SYNONYMES) -> dict[str, tuple[str, ...]]:
    """Synonymes d'en-têtes par champ (ordre du fichier : les plus sûrs d'abord)."""
    synonymes: dict[str, list[str]] = {c.nom: [] for c in CHAMPS}
    with open(chemin, encoding="utf-8", newline="") as fichier:
        for ligne in csv.DictReader(fichier):
            if ligne["champ"] not in synonymes:
                raise ErreurDonnees(f"{chemin.name} : champ « {ligne['champ']} » inconnu.", "import", "champ")
            synonymes[ligne["champ"]].append(ligne["synonyme"].strip())
    return {champ: tuple(liste) for champ, liste in synonymes.items()}


# Listes déduites de la table (noms historiques, lus par la page, la CLI et les tests).
CHAMPS_IMPORT: dict[str, str] = {c.nom: c.libelle for c in CHAMPS}
CHAMPS_OBLIGATOIRES = tuple(c.nom for c in CHAMPS if c.requis)
CHAMPS_ZONE = tuple(c.nom for c in CHAMPS if c.zone)
SYNONYMES: dict[str, tuple[str, ...]] = _lire_synonymes()
ENTETES_OPERATIONS = {c.nom: c.entete for c in sorted((c for c in CHAMPS if c.rang_modele is not None),
                                                      key=lambda c: c.rang_modele)}
ENTETES_ZONES = {c.nom: c.entete for c in CHAMPS if c.zone}
AIDES_MODELE = {c.nom: (c.modele_obligatoire, c.aide, c.exemple) for c in CHAMPS if c.entete}
_LIBELLES = {**CHAMPS_IMPORT, "geometrie": "géométrie", "zones": "zones", "fichier": "fichier",
             "colonnes": "colonnes"}

# Synonymes comparés après normalisation (minuscules, sans accents ni mots vides) : le nom du champ, son
# libellé, les synonymes du fichier, puis l'en-tête du modèle XLSX.
_SYNONYMES_NORMALISES = {
    c.nom: tuple(dict.fromkeys([_normaliser(c.nom), _normaliser(c.libelle)]
                               + [_normaliser(s) for s in SYNONYMES[c.nom]]
                               + ([_normaliser(c.entete)] if c.entete else [])))
    for c in CHAMPS}


def proposer_correspondance(table: TableImportee | pd.DataFrame | list[str],
                            champs: tuple[str, ...] | None = None) -> dict[str, str]:
    """Correspondance automatique champ cible → colonne du fichier (accents, casse, synonymes).

    Chaque colonne sert au plus une fois ; les synonymes exacts passent avant les plus vagues
    (« code_insee » avant « commune »). L'utilisateur peut ensuite corriger le dictionnaire.
    """
    if isinstance(table, TableImportee):
        colonnes = table.colonnes
    elif isinstance(table, pd.DataFrame):
        colonnes = [str(c) for c in table.columns]
    else:
        colonnes = [str(c) for c in table]
    champs = champs or tuple(CHAMPS_IMPORT)
    normalisees: dict[str, list[str]] = {}
    for colonne in colonnes:
        normalisees.setdefault(_normaliser(colonne), []).append(colonne)
    prises: set[str] = set()
    correspondance: dict[str, str] = {}
    # Passe par rang de synonyme : un synonyme de rang 0 d'un champ passe avant le rang 3 d'un autre.
    rang_max = max(len(s) for s in _SYNONYMES_NORMALISES.values())
    for rang in range(rang_max):
        for champ in champs:
            if champ in correspondance:
                continue
            synonymes = _SYNONYMES_NORMALISES[champ]
            if rang >= len(synonymes):
                continue
            for colonne in normalisees.get(synonymes[rang], []):
                if colonne not in prises:
                    correspondance[champ] = colonne
                    prises.add(colonne)
                    break
    return {champ: correspondance[champ] for champ in champs if champ in correspondance}


def _verifier_correspondance(table: TableImportee, correspondance: Mapping[str, Any]) -> dict[str, str]:
    """Correspondance nettoyée (champs vides retirés) ; lève si un champ ou une colonne n'existe pas."""
    propre: dict[str, str] = {}
    for champ, colonne in (correspondance or {}).items():
        if colonne is None or (isinstance(colonne, str) and not colonne.strip()):
            continue
        if champ not in CHAMPS_IMPORT:
            raise ErreurDonnees(f"Correspondance : champ « {champ} » inconnu. Champs possibles : "
                                f"{', '.join(CHAMPS_IMPORT)}.", "import", str(champ))
        if colonne not in table.colonnes:
            raise ErreurDonnees(f"Correspondance : la colonne « {colonne} » choisie pour le champ "
                                f"« {CHAMPS_IMPORT[champ]} » n'existe pas dans {table.nom_fichier} "
                                f"(colonnes : {', '.join(table.colonnes)}).", "import", str(champ))
        propre[champ] = colonne
    return propre
