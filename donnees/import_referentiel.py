"""Import des couches réelles du référentiel : communes, parcelles, bâtiments, occupation du sol.

Sources (CONCEPTION §3.1) :

- communes : geo.api.gouv.fr (``/communes?code=…&format=geojson&geometry=contour``, une requête par
  commune : l'API ne prend qu'un code à la fois), ou un fichier IGN ADMIN EXPRESS (Shapefile,
  GeoPackage : champs ``INSEE_COM``, ``NOM``/``NOM_COM``, ``POPULATION``) ou GeoJSON
  (``code``/``code_insee``, ``nom``, ``population``/``population_municipale``) ;
- parcelles et bâtiments : cadastre Etalab, GeoJSON simple ou gzip, un fichier par commune
  (``<cadastre>/data/etalab-cadastre/latest/geojson/communes/<dep>/<insee>/cadastre-<insee>-parcelles.json.gz``) ;
  l'identifiant retenu est ``properties.id``, jamais l'identifiant de l'entité ;
- occupation du sol : GeoPackage IGN OCS GE (couche ``OCCUPATION_SOL``, champs ``CODE_CS``, ``CODE_US``,
  ``ID``) découpé par les communes du territoire, ou toute couche de polygones avec une colonne de
  couverture et une table de correspondance CSV (``valeur`` → ``code_cs`` [+ ``code_us``] ou ``revetement``).

Chaque import lit tout, reprojette (les calculs se font en Lambert-93, le stockage en WGS84), valide avec
:mod:`donnees.schemas`, puis remplace la couche d'un seul coup : un import refusé laisse la couche
précédente intacte. Réimporter les mêmes fichiers donne la même couche. La fiche de la source (licence,
millésime, date, comptes par commune) est écrite dans ``sources.json`` (:mod:`donnees.sources`).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from donnees.config import dossier_donnees
from donnees.lecture_vecteur import (ERREURS_LECTURE, NB_CITES, citer, lire_entites, lire_infos, lister_couches,
                                     verifier_degres_dans_metres, verifier_dans_wgs84)
from donnees.referentiel import (construire_communes_affichage, couche_presente, lire_couche,
                                 lire_territoire)
from donnees.cadastre import departement_de
from donnees.erreurs import ErreurDonnees, message
from donnees.format import formater_nombre
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE, en_lambert93, en_wgs84, transformateur
from donnees.schemas import valider_couche
from donnees.publication_couches import publier_couches, reprendre_publication
from donnees.sources import construire_fiche
from donnees.telechargement import (ErreurTelechargement, FichierTelecharge, dossier_telechargements,
                                    nom_fichier_url, telecharger_fichier)
from donnees.territoire import urls_sources

COUCHES_IMPORTABLES = ("communes", "parcelles", "batiments", "occupation")
SURFACE_MIN_MORCEAU_M2 = 1.0
URL_OCSGE = "https://geoservices.ign.fr/ocsge"
_EXTENSIONS_GEOJSON = (".json", ".geojson", ".json.gz", ".geojson.gz", ".gz")
_MOTIF_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:[-_]?(\d{2})[-_]?(\d{2}))?(?!\d)")

DESCRIPTIONS = {
    "communes": {"source": "IGN – ADMIN EXPRESS (geo.api.gouv.fr)", "producteur": "IGN",
                 "attribution": "Source : IGN – ADMIN EXPRESS, via geo.api.gouv.fr (Licence Ouverte / Etalab 2.0)"},
    "parcelles": {"source": "Cadastre Etalab (DGFiP – PCI vecteur)", "producteur": "DGFiP, Etalab",
                  "attribution": "Source : DGFiP – cadastre Etalab (Licence Ouverte / Etalab 2.0)"},
    "batiments": {"source": "Cadastre Etalab (DGFiP – PCI vecteur)", "producteur": "DGFiP, Etalab",
                  "attribution": "Source : DGFiP – cadastre Etalab (Licence Ouverte / Etalab 2.0)"},
    "occupation": {"source": "IGN – OCS GE", "producteur": "IGN",
                   "attribution": "Source : IGN – OCS GE (Licence Ouverte / Etalab 2.0)"},
    # Couches de critères du potentiel (donnees.import_criteres : attribution selon téléchargement ou fichier).
    "sol": {"source": "Groupes hydrologiques des sols", "producteur": "non précisé"},
    "nappe": {"source": "Géorisques – remontées de nappe (BRGM)", "producteur": "BRGM"},
    "sites_pollues": {"source": "Géorisques – SIS, ex-BASOL et CASIAS",
                      "producteur": "Ministère de la Transition écologique, BRGM"},
    "captages": {"source": "Périmètres de protection des captages (ARS)", "producteur": "ARS"},
    "cavites": {"source": "Géorisques – inventaire des cavités souterraines (BRGM)", "producteur": "BRGM"},
}


@dataclass
class RapportImport:
    """Résultat d'un import : couche, nombre de lignes, comptes par commune, avertissements, fiche."""

    couche: str
    nombre: int
    par_commune: dict[str, int]
    avertissements: list[str] = field(default_factory=list)
    fiche: dict = field(default_factory=dict)

    def lignes(self, noms: dict[str, str] | None = None) -> list[str]:
        """Rapport lisible : total, source, millésime, puis une ligne par commune."""
        noms = noms or {}
        fiche = self.fiche
        millesime = fiche.get("millesime") or "non précisé"
        texte = [f"Couche « {fiche.get('libelle', self.couche)} » importée : {formater_nombre(self.nombre)} lignes "
                 f"({fiche.get('source', '?')} ; millésime {millesime}).",
                 f"Licence : {fiche.get('licence', '?')}. {fiche.get('attribution', '')}".rstrip()]
        texte += [f"Attention : {a}" for a in self.avertissements]
        texte.append("Par commune :")
        for code, nombre in sorted(self.par_commune.items()):
            nom = f" {noms[code]}" if code in noms else ""
            texte.append(f"  {code}{nom} : {formater_nombre(nombre)}")
        return texte


# ------------------------------------------------------------------------------------ lecture des fichiers


@dataclass
class Lecture:
    """Contenu d'un fichier lu : table WGS84, ids d'entité (GeoJSON), système d'origine, nom affiché."""

    table: gpd.GeoDataFrame
    ids_entites: list | None
    crs_origine: str
    nom: str


def _crs_geojson(contenu: dict, nom: str) -> pyproj.CRS | None:
    membre = contenu.get("crs")
    if not membre:
        return None
    try:
        return pyproj.CRS.from_user_input(membre.get("properties", {}).get("name"))
    except (pyproj.exceptions.CRSError, AttributeError, TypeError):
        raise ErreurDonnees(f"Fichier {nom} : membre « crs » illisible ({membre}). Retirez-le si les coordonnées "
                            "sont en WGS84 (RFC 7946), sinon donnez un code EPSG valide.", "import", "crs") from None


def lire_geojson(chemin: Path, nom: str | None = None, crs_declare: str | None = None,
                 imposer_crs: bool = False) -> Lecture:
    """Lit un GeoJSON (simple ou gzip) : entités, identifiants d'entité, système (RFC 7946 : WGS84) ;
    ``imposer_crs`` : ``crs_declare`` remplace aussi le membre « crs » du fichier."""
    nom = nom or Path(chemin).name
    try:
        brut = Path(chemin).read_bytes()
        if brut[:2] == b"\x1f\x8b":
            brut = gzip.decompress(brut)
        contenu = json.loads(brut.decode("utf-8"))
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ErreurDonnees(f"Fichier {nom} illisible : gzip tronqué ou corrompu ({exc}). Téléchargez-le de "
                            "nouveau.", "import") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ErreurDonnees(f"Fichier {nom} : ce n'est pas du GeoJSON valide ({exc}).", "import") from None
    if not isinstance(contenu, dict) or contenu.get("type") != "FeatureCollection":
        raise ErreurDonnees(f"Fichier {nom} : une FeatureCollection GeoJSON était attendue.", "import")
    entites = contenu.get("features") or []
    crs = None if imposer_crs and crs_declare else _crs_geojson(contenu, nom)
    if crs is None:
        crs = pyproj.CRS.from_user_input(crs_declare or CRS_STOCKAGE)
    geometries, proprietes, ids, sans_geometrie = [], [], [], []
    for rang, entite in enumerate(entites):
        geometrie = entite.get("geometry")
        if not geometrie:
            sans_geometrie.append(rang + 1)
            continue
        try:
            geometries.append(shapely.geometry.shape(geometrie))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, shapely.errors.ShapelyError):
            # géométrie GeoJSON malformée
            sans_geometrie.append(rang + 1)
            continue
        proprietes.append(entite.get("properties") or {})
        ids.append(entite.get("id"))
    if sans_geometrie:
        raise ErreurDonnees(f"Fichier {nom} : entités sans géométrie ou géométrie illisible (entités "
                            f"{citer(sans_geometrie)}). Corrigez ou retirez-les.", "import", "geometry")
    table = gpd.GeoDataFrame(pd.DataFrame(proprietes), geometry=geometries, crs=crs)
    return Lecture(_vers_wgs84(table, nom), ids, crs.to_string(), nom)


def lire_vecteur(chemin: Path, couche: str | None = None, crs_declare: str | None = None,
                 emprise_wgs84: tuple | None = None, couche_defaut: str | None = None,
                 filtre_codes: tuple[tuple[str, ...], list[str]] | None = None,
                 imposer_crs: bool = False) -> Lecture:
    """Lit un Shapefile, GeoPackage ou zip (pyogrio), éventuellement limité à une emprise WGS84.

    ``imposer_crs`` : ``crs_declare`` remplace aussi le système déclaré par le fichier (déclaré faux).

    ``filtre_codes = (champs candidats, codes)`` : ne lit que les entités dont le premier champ présent
    vaut l'un des codes (fichier national ADMIN EXPRESS) ; si aucune ne correspond, lit un échantillon
    pour que le message puisse nommer le département du fichier.
    """
    chemin = Path(chemin)
    nom = chemin.name
    try:
        couches = [c[0] for c in lister_couches(chemin)]
    except ERREURS_LECTURE as exc:  # format inconnu, fichier abîmé
        raise ErreurDonnees(f"Fichier {nom} illisible ({exc}). Formats acceptés : GeoJSON (.json, .geojson, "
                            ".gz), GeoPackage, Shapefile (ou .zip).", "import") from None
    if couche is None and len(couches) > 1:
        egales = [c for c in couches if couche_defaut and c.lower() == couche_defaut.lower()]
        if not egales:
            raise ErreurDonnees(f"Fichier {nom} : plusieurs couches ({citer(couches)}). Choisissez-en une avec "
                                "--couche.", "import")
        couche = egales[0]
    if couche is not None and couche not in couches:
        raise ErreurDonnees(f"Fichier {nom} : pas de couche « {couche} » (couches : {citer(couches)}).",
                            "import")
    infos = lire_infos(chemin, couche)
    crs = crs_declare if imposer_crs and crs_declare else infos.get("crs")
    if not crs:
        if not crs_declare:
            raise ErreurDonnees(message("systeme_absent", nom=f"Fichier {nom}", conseil="Précisez-le avec "
                                        "--crs, par exemple --crs EPSG:2154 pour du Lambert-93."), "import", "crs")
        crs = crs_declare
    bbox, where = None, None
    if emprise_wgs84 is not None:
        bbox = transformateur(CRS_STOCKAGE, crs).transform_bounds(*emprise_wgs84)
    if filtre_codes is not None:
        champs = {str(c).lower(): str(c) for c in infos.get("fields", [])}
        champ = next((champs[c.lower()] for c in filtre_codes[0] if c.lower() in champs), None)
        if champ is not None:
            liste = ", ".join("'" + c.replace("'", "") + "'" for c in filtre_codes[1])
            where = f'"{champ}" IN ({liste})'
    try:
        table = lire_entites(chemin, couche, bbox=bbox, where=where)
        if where is not None and len(table) == 0:
            table = lire_entites(chemin, couche, max_features=50)
    except ERREURS_LECTURE as exc:
        raise ErreurDonnees(f"Fichier {nom} illisible ({exc}).", "import") from None
    if table.crs is None or imposer_crs:
        table = table.set_crs(crs, allow_override=True)
    return Lecture(_vers_wgs84(table, nom), None, pyproj.CRS.from_user_input(crs).to_string(), nom)


def _vers_wgs84(table: gpd.GeoDataFrame, nom: str) -> gpd.GeoDataFrame:
    """Reprojette en WGS84 et vérifie que les coordonnées y sont plausibles (système absent ou mélangé)."""
    if len(table) == 0:
        return en_wgs84(table)
    if table.crs.is_geographic:
        verifier_dans_wgs84(table.geometry.values, f"Fichier {nom}",
                            "Des coordonnées en mètres sont sans doute en Lambert-93 : précisez --crs EPSG:2154, "
                            "ou exportez le fichier en WGS84.", citer)
    elif table.crs.is_projected:
        verifier_degres_dans_metres(table.geometry.values, table.crs, f"Fichier {nom}",
                                    "Exportez le fichier dans le système déclaré, ou déclarez-le en WGS84 (--crs "
                                    "EPSG:4326).", citer)
    table = en_wgs84(table)
    table = table.set_geometry(shapely.force_2d(table.geometry.values))
    return table


def lire_fichier(chemin: Path, crs_declare: str | None = None, couche: str | None = None,
                 emprise_wgs84: tuple | None = None, couche_defaut: str | None = None,
                 filtre_codes: tuple[tuple[str, ...], list[str]] | None = None,
                 imposer_crs: bool = False) -> Lecture:
    """Lit un fichier vectoriel selon son extension ; message clair s'il n'existe pas."""
    chemin = Path(chemin)
    if not chemin.is_file():
        raise ErreurDonnees(f"Fichier introuvable : {chemin}.", "import")
    if chemin.name.lower().endswith(_EXTENSIONS_GEOJSON):
        return lire_geojson(chemin, crs_declare=crs_declare, imposer_crs=imposer_crs)
    return lire_vecteur(chemin, couche, crs_declare, emprise_wgs84, couche_defaut, filtre_codes, imposer_crs)


def _verifier_meme_systeme(lectures: list[Lecture]) -> None:
    systemes = {}
    for lecture in lectures:
        systemes.setdefault(lecture.crs_origine, []).append(lecture.nom)
    if len(systemes) > 1:
        detail = " ; ".join(f"{crs} : {citer(noms, 3)}" for crs, noms in systemes.items())
        raise ErreurDonnees(f"Fichiers dans des systèmes de coordonnées différents ({detail}). Fournissez des "
                            "fichiers d'une même source, dans un même système.", "import", "crs")


# ---------------------------------------------------------------------------------------- outils communs


def _colonne(table: pd.DataFrame, candidats: tuple[str, ...]) -> str | None:
    """Première colonne présente parmi les candidats (sans tenir compte de la casse)."""
    par_minuscule = {str(c).lower(): c for c in table.columns}
    for candidat in candidats:
        if candidat.lower() in par_minuscule:
            return par_minuscule[candidat.lower()]
    return None


def _polygones_valides(geometries: np.ndarray) -> np.ndarray:
    """Géométries réparées (make_valid) réduites à leur partie surfacique (None s'il n'en reste rien)."""
    from donnees.geometrie import extraire_polygones

    geometries = np.asarray(geometries, dtype=object)
    invalides = ~shapely.is_valid(geometries)
    if invalides.any():
        geometries = geometries.copy()
        geometries[invalides] = shapely.make_valid(geometries[invalides])
    return extraire_polygones(geometries)


def _millesime(option: str | None, noms: list[str], dates_serveur: list[str | None]) -> str | None:
    """Millésime : option, sinon date dans le nom d'un fichier ou l'adresse, sinon date du serveur."""
    if option:
        return option
    for nom in noms:
        for segment in re.split(r"[/?&=]", nom):
            correspondance = _MOTIF_DATE.search(segment)
            if correspondance and "latest" not in segment:
                annee, mois, jour = correspondance.groups()
                return f"{annee}-{mois}-{jour}" if mois else annee
    dates = sorted(d for d in dates_serveur if d)
    return dates[-1] if dates else None


def _lire_territoire_reel(dossier: Path) -> dict:
    territoire = lire_territoire(dossier)
    if territoire.get("demo"):
        raise ErreurDonnees(
            f"Le dossier {dossier} contient le territoire de démonstration : ses couches synthétiques ne se "
            "mélangent pas à des données réelles. Initialisez d'abord votre territoire : desimper territoire "
            "initialiser --nom \"…\" --insee 34301,… --remplacer.", "territoire")
    return territoire


def preparer_liste(couche: str, urls: list[str], dossier: Path) -> Path:
    """Écrit la liste des adresses à télécharger (pour un import hors ligne) et renvoie son chemin."""
    chemin = dossier_telechargements(dossier) / f"a-telecharger-{couche}.txt"
    chemin.parent.mkdir(parents=True, exist_ok=True)
    chemin.write_text("".join(f"{u}\n" for u in urls), encoding="utf-8")
    return chemin


def _conseil_hors_ligne(couche: str, urls: list[str], liste: Path) -> str:
    """Que faire si la source est injoignable : quels fichiers, d'où, et la commande ``--depuis``."""
    if couche == "communes":
        exemple = "COMMUNE.shp (IGN ADMIN EXPRESS, https://geoservices.ign.fr/adminexpress)"
        noms = "ou les réponses de geo.api.gouv.fr enregistrées en .geojson"
    else:
        noms_fichiers = [nom_fichier_url(u) for u in urls]
        exemple = " ".join(noms_fichiers[:2]) + (" …" if len(noms_fichiers) > 2 else "")
        noms = "un fichier par commune"
    return (f"Sans accès à la source : téléchargez depuis un poste connecté les {len(urls)} fichier(s) dont "
            f"les adresses sont dans {liste}, puis importez-les avec : desimper importer {couche} --depuis "
            f"{exemple} ({noms}). Les fichiers déjà téléchargés sont gardés dans {liste.parent}.")


def _telecharger(couche: str, url: str, dossier: Path, forcer: bool, progression: bool,
                 conseil: str) -> FichierTelecharge:
    return telecharger_fichier(url, dossier_telechargements(dossier), forcer=forcer, progression=progression,
                               conseil=conseil)


def _compter(serie: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in serie.value_counts().sort_index().items()}


def _dedoublonner(table: gpd.GeoDataFrame, cle: str, libelle: str, colonnes: list[str],
                  avertissements: list[str]) -> gpd.GeoDataFrame:
    """Doublons identiques (attributs et géométrie) : un seul gardé, avec avertissement ; sinon erreur."""
    doublons = table[cle].duplicated(keep=False)
    if not doublons.any():
        return table
    empreinte = table[colonnes].astype(str).agg("|".join, axis=1) + "|" + pd.Series(
        shapely.to_wkb(shapely.normalize(table.geometry.values), hex=True), index=table.index)
    differents = table.loc[doublons].assign(_e=empreinte[doublons]).groupby(cle)["_e"].nunique()
    differents = differents[differents > 1]
    if len(differents):
        exemples = table.loc[table[cle].isin(differents.index[:3])]
        detail = "; ".join(f"{v} ({f})" for v, f in zip(exemples[cle], exemples["_fichier"]))
        raise ErreurDonnees(
            f"{libelle} : identifiants en double avec des contenus différents : {citer(differents.index)} "
            f"(par exemple {detail}). Chaque identifiant (properties.id) doit être unique : vérifiez que les "
            "fichiers viennent d'une même édition et ne se recouvrent pas.", "import", cle,
            list(differents.index[:NB_CITES]))
    n = int(table[cle].duplicated().sum())
    avertissements.append(f"{n} entité(s) en double à l'identique (même identifiant, mêmes attributs et "
                          f"géométrie : {citer(table.loc[table[cle].duplicated(), cle].unique())}) ; une seule "
                          "gardée.")
    return table.loc[~table[cle].duplicated()].copy()


# ----------------------------------------------------------------------------------------------- communes


def _url_commune(base: str, code: str) -> str:
    return f"{base}/communes?code={code}&format=geojson&geometry=contour&fields=code,nom,population"


def _normaliser_communes(lecture: Lecture) -> gpd.GeoDataFrame:
    table = lecture.table
    code = _colonne(table, ("code_insee", "code", "INSEE_COM", "insee"))
    nom = _colonne(table, ("nom", "NOM_COM", "NOM", "nom_com", "libelle"))
    population = _colonne(table, ("population", "population_municipale", "POPULATION", "PMUN"))
    if code is None or nom is None:
        raise ErreurDonnees(
            f"Fichier {lecture.nom} : colonnes du code INSEE et du nom introuvables (colonnes : "
            f"{citer(c for c in table.columns if c != 'geometry')}). Attendu : code/code_insee/INSEE_COM et "
            "nom/NOM/NOM_COM (geo.api.gouv.fr ou IGN ADMIN EXPRESS).", "communes", "code_insee")
    return gpd.GeoDataFrame({
        "code_insee": table[code].astype(str).str.strip().str.upper(),
        "nom": table[nom].astype("string").str.strip(),
        "population": pd.to_numeric(table[population], errors="coerce") if population else np.nan,
        "_fichier": lecture.nom,
    }, geometry=table.geometry.values, crs=table.crs)


def importer_communes(dossier: Path, codes: list[str], base_geo: str, telecharger: bool, fichiers: list[Path],
                      crs_declare: str | None, couche: str | None, forcer: bool, progression: bool
                      ) -> tuple[gpd.GeoDataFrame, list[str], list[str], list[str | None], list[str]]:
    """Communes du territoire (WGS84) ; renvoie aussi les adresses, fichiers, dates serveur, avertissements."""
    lectures, urls, dates, avertissements = [], [], [], []
    if telecharger:
        toutes_urls = [_url_commune(base_geo, code) for code in codes]
        conseil = _conseil_hors_ligne("communes", toutes_urls, preparer_liste("communes", toutes_urls, dossier))
        for code, url in zip(codes, toutes_urls):
            obtenu = _telecharger("communes", url, dossier, forcer, progression, conseil)
            lecture = lire_geojson(obtenu.chemin, nom=f"réponse de geo.api.gouv.fr pour {code} ({url})")
            lectures.append(lecture)
            urls.append(url)
            dates.append(obtenu.date_serveur)
    else:
        lectures = [lire_fichier(f, crs_declare, couche, couche_defaut="COMMUNE",
                                 filtre_codes=(("INSEE_COM", "code_insee", "code"), codes)) for f in fichiers]
        _verifier_meme_systeme(lectures)
    tables = [_normaliser_communes(lecture) for lecture in lectures if len(lecture.table)]
    if not tables:
        raise ErreurDonnees("Couche des communes vide : aucune commune dans " + (
            "les réponses de geo.api.gouv.fr" if telecharger else citer(l.nom for l in lectures)) +
            f". Codes INSEE demandés : {citer(codes)}.", "communes")
    toutes = pd.concat(tables, ignore_index=True)
    retenues = toutes[toutes["code_insee"].isin(codes)].copy()
    manquants = [c for c in codes if c not in set(retenues["code_insee"])]
    if manquants:
        departements_fichier = sorted({departement_de(c) for c in toutes["code_insee"]})
        departements_territoire = sorted({departement_de(c) for c in codes})
        if telecharger:
            message = (f"Codes INSEE inconnus de geo.api.gouv.fr : {citer(manquants)}. Corrigez la liste des "
                       "communes (desimper territoire initialiser … --remplacer) ; une commune fusionnée dans une "
                       "commune nouvelle n'a plus de code propre.")
        elif not set(departements_fichier) & set(departements_territoire):
            message = (f"Le fichier {citer(sorted(set(toutes['_fichier'])), 3)} couvre le(s) département(s) "
                       f"{', '.join(departements_fichier)}, pas celui ou ceux du territoire "
                       f"({', '.join(departements_territoire)}). Fournissez le fichier du bon département.")
        else:
            message = (f"Communes du territoire absentes du fichier {citer(sorted(set(toutes['_fichier'])), 3)} : "
                       f"{citer(manquants)}. Vérifiez les codes INSEE du territoire ou fournissez un fichier "
                       "plus complet (par exemple IGN ADMIN EXPRESS du département).")
        raise ErreurDonnees(message, "communes", "code_insee", manquants[:NB_CITES])
    retenues = gpd.GeoDataFrame(retenues, geometry="geometry", crs=CRS_STOCKAGE)
    retenues = _dedoublonner(retenues, "code_insee", "Communes", ["nom", "population"], avertissements)
    sans_population = retenues.loc[retenues["population"].isna(), "code_insee"].tolist()
    if sans_population:
        raise ErreurDonnees(
            f"Population absente pour les communes {citer(sans_population)}. Fournissez un fichier qui la donne "
            "(geo.api.gouv.fr : champ population ; ADMIN EXPRESS : champ POPULATION).", "communes", "population",
            sans_population[:NB_CITES])
    retenues["geometry"] = _polygones_valides(retenues.geometry.values)
    vides = retenues.loc[retenues.geometry.isna(), "code_insee"].tolist()
    if vides:
        raise ErreurDonnees(f"Communes sans contour surfacique : {citer(vides)}. Demandez les contours "
                            "(geometry=contour) ou un fichier de polygones.", "communes", "geometry")
    retenues["population"] = retenues["population"].round().astype("int64")
    return retenues, urls, [str(f) for f in fichiers], dates, avertissements


# --------------------------------------------------------------------------------- parcelles et bâtiments


def url_cadastre(base: str, code: str, couche: str) -> str:
    """Adresse Etalab d'un fichier du cadastre (``parcelles`` ou ``batiments``) d'une commune."""
    return (f"{base}/data/etalab-cadastre/latest/geojson/communes/{departement_de(code)}/{code}/"
            f"cadastre-{code}-{couche}.json.gz")


def _verifier_communes_fichier(table: pd.DataFrame, lecture: Lecture, codes: list[str],
                               attendu: str | None, libelle: str) -> None:
    """Toutes les entités d'un fichier doivent être d'une commune du territoire (et de la commune demandée)."""
    presentes = sorted(set(table["commune"].astype(str)))
    etrangeres = [c for c in presentes if (attendu and c != attendu) or c not in codes]
    if not etrangeres:
        return
    departements = sorted({departement_de(c) for c in etrangeres})
    if attendu:
        debut = (f"Le fichier {lecture.nom}, demandé pour la commune {attendu} (département "
                 f"{departement_de(attendu)}), contient des {libelle} de la commune {citer(etrangeres, 3)} "
                 f"(département {', '.join(departements)}).")
    else:
        debut = (f"Le fichier {lecture.nom} contient des {libelle} de communes hors du territoire : "
                 f"{citer(etrangeres, 5)} (département {', '.join(departements)}).")
    raise ErreurDonnees(debut + " Fournissez les fichiers des communes du territoire "
                        f"({citer(codes, 5)}).", "import", "commune", etrangeres[:NB_CITES])


def _table_parcelles(lecture: Lecture, codes: list[str], attendu: str | None, avertissements: list[str]
                     ) -> gpd.GeoDataFrame:
    table = lecture.table
    manquantes = [c for c in ("id", "commune", "prefixe", "section", "numero", "contenance") if c not in table]
    if manquantes:
        raise ErreurDonnees(f"Fichier {lecture.nom} : propriétés {', '.join(manquantes)} absentes. Un fichier de "
                            "parcelles du cadastre Etalab (cadastre-<insee>-parcelles.json.gz) était attendu.",
                            "parcelles", manquantes[0])
    table = table.copy()
    table["commune"] = table["commune"].astype(str)
    _verifier_communes_fichier(table, lecture, codes, attendu, "parcelles")
    if lecture.ids_entites is not None:
        ids = pd.Series(lecture.ids_entites, index=table.index)
        ecarts = ids.notna() & (ids.astype(str) != table["id"].astype(str))
        if ecarts.any():
            exemples = [f"{a} ≠ {b}" for a, b in zip(ids[ecarts].head(3), table.loc[ecarts, "id"].head(3))]
            avertissements.append(
                f"{lecture.nom} : {int(ecarts.sum())} entité(s) dont l'identifiant diffère de properties.id "
                f"({'; '.join(exemples)}) ; properties.id retenu, comme le veut le format Etalab.")
    table["_fichier"] = lecture.nom
    return table


def _table_batiments(lecture: Lecture, codes: list[str], attendu: str | None) -> gpd.GeoDataFrame:
    table = lecture.table.copy()
    if "commune" not in table:
        if attendu is None:
            raise ErreurDonnees(f"Fichier {lecture.nom} : propriété « commune » absente. Un fichier de bâtiments "
                                "du cadastre Etalab (cadastre-<insee>-batiments.json.gz) était attendu.",
                                "batiments", "commune")
        table["commune"] = attendu
    table["commune"] = table["commune"].astype(str)
    _verifier_communes_fichier(table, lecture, codes, attendu, "bâtiments")
    for colonne in ("type", "nom"):
        if colonne not in table:
            table[colonne] = None
    table["_fichier"] = lecture.nom
    return table


def importer_cadastre(couche: str, dossier: Path, codes: list[str], base_cadastre: str, telecharger: bool,
                      fichiers: list[Path], crs_declare: str | None, forcer: bool, progression: bool
                      ) -> tuple[gpd.GeoDataFrame, list[str], list[str], list[str | None], list[str]]:
    """Parcelles ou bâtiments du cadastre Etalab pour les communes du territoire (WGS84)."""
    avertissements, urls, dates, tables, lectures = [], [], [], [], []
    preparer = (lambda lec, att: _table_parcelles(lec, codes, att, avertissements)) if couche == "parcelles" \
        else (lambda lec, att: _table_batiments(lec, codes, att))
    if telecharger:
        toutes_urls = [url_cadastre(base_cadastre, code, couche) for code in codes]
        conseil = _conseil_hors_ligne(couche, toutes_urls, preparer_liste(couche, toutes_urls, dossier))
        for code, url in zip(codes, toutes_urls):
            obtenu = _telecharger(couche, url, dossier, forcer, progression, conseil)
            lecture = lire_geojson(obtenu.chemin, nom=f"{nom_fichier_url(url)} ({url})")
            urls.append(url)
            dates.append(obtenu.date_serveur)
            if len(lecture.table):
                tables.append(preparer(lecture, code))
    else:
        for chemin in fichiers:
            lecture = lire_fichier(chemin, crs_declare)
            lectures.append(lecture)
            if len(lecture.table):
                tables.append(preparer(lecture, None))
        _verifier_meme_systeme(lectures)
    libelle = "parcelles" if couche == "parcelles" else "bâtiments"
    if not tables:
        raise ErreurDonnees(f"Couche des {libelle} vide : aucune entité dans " + (
            citer(urls, 3) if telecharger else citer((Path(f).name for f in fichiers), 3)) +
            ". Vérifiez les fichiers (commune sans cadastre ?).", couche)
    table = gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=CRS_STOCKAGE)
    sans_entite = [c for c in codes if c not in set(table["commune"])]
    if sans_entite:
        avertissements.append(f"Communes du territoire sans {libelle} dans les fichiers : {citer(sans_entite)} "
                              "(ajoutez leurs fichiers à --depuis pour les importer aussi).")
    table["geometry"] = _polygones_valides(table.geometry.values)
    sans = table.geometry.isna()
    if sans.any():
        avertissements.append(f"{int(sans.sum())} entité(s) sans surface (points, lignes) écartée(s).")
        table = table.loc[~sans].copy()
    if couche == "parcelles":
        for colonne in ("id", "commune", "prefixe", "section", "numero"):
            table[colonne] = table[colonne].astype(str).str.strip()
        contenance = pd.to_numeric(table["contenance"], errors="coerce")
        if contenance.isna().any():
            n = int(contenance.isna().sum())
            calculee = np.round(shapely.area(en_lambert93(table).geometry.values))
            contenance = contenance.fillna(pd.Series(calculee, index=table.index))
            avertissements.append(f"{n} parcelle(s) sans contenance : surface calculée sur la géométrie "
                                  "(Lambert-93).")
        table["contenance"] = contenance.round().astype("int64")
        table = _dedoublonner(table, "id", "Parcelles", ["commune", "prefixe", "section", "numero", "contenance"],
                              avertissements)
        table = table.sort_values("id", kind="stable")
        colonnes = ["id", "commune", "prefixe", "section", "numero", "contenance"]
    else:
        table["type"] = table["type"].where(table["type"].notna(), None)
        table["nom"] = table["nom"].where(table["nom"].notna(), None)
        cle = table.geometry.normalize().to_wkb(hex=True)
        table["_cle"] = table["commune"] + "|" + cle
        table = _dedoublonner(table, "_cle", "Bâtiments", ["type", "nom"], avertissements)
        point = shapely.point_on_surface(en_lambert93(table).geometry.values)
        table = table.assign(_x=np.round(shapely.get_x(point), 2), _y=np.round(shapely.get_y(point), 2))
        table = table.sort_values(["commune", "_y", "_x", "_cle"], kind="stable")
        table["id"] = table["commune"] + "-" + (table.groupby("commune").cumcount() + 1).astype(str).str.zfill(6)
        colonnes = ["id", "commune", "type", "nom"]
    resultat = gpd.GeoDataFrame(table[colonnes].reset_index(drop=True),
                                geometry=table.geometry.values, crs=CRS_STOCKAGE)
    return resultat, urls, [str(f) for f in fichiers], dates, avertissements


# ------------------------------------------------------------------------------------- occupation du sol


def lire_table_correspondance(chemin: Path) -> dict[str, tuple[str, str | None]]:
    """Table CSV ``valeur`` → (``code_cs``, ``code_us``), ou ``valeur`` → ``revetement`` (code OCS GE déduit)."""
    from donnees.nomenclatures import lire_correspondance_ocsge

    chemin = Path(chemin)
    if not chemin.is_file():
        raise ErreurDonnees(f"Table de correspondance introuvable : {chemin}.", "occupation")
    try:
        table = pd.read_csv(chemin, dtype=str, keep_default_na=False, sep=None, engine="python")
    except (ValueError, csv.Error, OSError) as exc:  # CSV mal formé, encodage, séparateur introuvable
        raise ErreurDonnees(f"Table de correspondance {chemin.name} illisible ({exc}).", "occupation") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    if "valeur" not in table or not ({"code_cs", "revetement"} & set(table.columns)):
        raise ErreurDonnees(f"Table de correspondance {chemin.name} : colonnes « valeur » et « code_cs » (ou "
                            "« revetement ») attendues.", "occupation", "valeur")
    ocsge = lire_correspondance_ocsge()
    par_revetement: dict[str, str] = {}
    for revetement, code, usage in zip(ocsge["revetement"], ocsge["code_cs"], ocsge["code_us"]):
        if not usage:
            par_revetement.setdefault(revetement, code)
    correspondance = {}
    for rang, ligne in table.iterrows():
        valeur = ligne["valeur"].strip()
        code_cs = ligne.get("code_cs", "").strip()
        code_us = ligne.get("code_us", "").strip() or None
        if not code_cs:
            revetement = ligne.get("revetement", "").strip()
            if revetement not in par_revetement:
                raise ErreurDonnees(
                    f"Table de correspondance {chemin.name}, ligne {rang + 2} : revêtement « {revetement} » sans "
                    f"code OCS GE connu (revêtements : {', '.join(sorted(par_revetement))}).", "occupation",
                    "revetement", [rang])
            code_cs = par_revetement[revetement]
        if not re.match(r"^CS\d(\.\d)*$", code_cs):
            raise ErreurDonnees(f"Table de correspondance {chemin.name}, ligne {rang + 2} : code_cs « {code_cs} » "
                                "n'est pas un code OCS GE (CS1.1.1.1…).", "occupation", "code_cs", [rang])
        correspondance[valeur] = (code_cs, code_us)
    return correspondance


def _morceau_occupation(lecture: Lecture, table_corr: dict | None, colonne_couverture: str | None,
                        correspondance: Path | None) -> gpd.GeoDataFrame:
    """Codes OCS GE d'un fichier lu : colonnes CODE_CS/CODE_US, ou colonne de couverture traduite par la table."""
    table = lecture.table
    identifiant = _colonne(table, ("ID", "id", "ID_OCSGE"))
    if table_corr is not None:
        colonne = _colonne(table, (colonne_couverture,))
        if colonne is None:
            raise ErreurDonnees(f"Fichier {lecture.nom} : colonne « {colonne_couverture} » absente (colonnes : "
                                f"{citer(c for c in table.columns if c != 'geometry')}).", "occupation",
                                colonne_couverture)
        valeurs = table[colonne].astype(str).str.strip()
        inconnues = sorted(set(valeurs) - set(table_corr))
        if inconnues:
            raise ErreurDonnees(
                f"Fichier {lecture.nom} : valeurs de « {colonne} » absentes de la table de correspondance "
                f"{Path(correspondance).name} : {citer(inconnues)}. Ajoutez-les à la table.", "occupation",
                colonne, inconnues[:NB_CITES])
        code_cs = valeurs.map(lambda v: table_corr[v][0])
        code_us = valeurs.map(lambda v: table_corr[v][1])
    else:
        colonne_cs = _colonne(table, ("CODE_CS", "code_cs", "couverture"))
        if colonne_cs is None:
            raise ErreurDonnees(
                f"Fichier {lecture.nom} : colonne CODE_CS absente (colonnes : "
                f"{citer(c for c in table.columns if c != 'geometry')}). Pour une autre couche que l'OCS GE, "
                "passez --colonne-couverture COLONNE --correspondance TABLE.csv.", "occupation", "code_cs")
        colonne_us = _colonne(table, ("CODE_US", "code_us", "usage"))
        code_cs = table[colonne_cs].astype(str).str.strip()
        code_us = table[colonne_us].where(table[colonne_us].notna(), None) if colonne_us else None
    return gpd.GeoDataFrame({
        "_id_source": table[identifiant].astype(str) if identifiant else None, "code_cs": code_cs,
        "code_us": code_us, "_fichier": lecture.nom}, geometry=table.geometry.values, crs=CRS_STOCKAGE)


def _verifier_codes_ocsge(table: pd.DataFrame) -> None:
    """Sans table fournie, chaque code OCS GE doit figurer dans la correspondance vers les revêtements."""
    from donnees.nomenclatures import lire_correspondance_ocsge

    connus = set(lire_correspondance_ocsge()["code_cs"])
    comptes = table.loc[~table["code_cs"].isin(connus), "code_cs"].value_counts()
    if len(comptes):
        detail = citer(f"{code} ({n} polygones)" for code, n in comptes.items())
        raise ErreurDonnees(
            f"Codes OCS GE absents de la correspondance vers les revêtements : {detail}. Complétez "
            "donnees/nomenclatures/ocsge_revetements.csv, ou passez une table avec --correspondance.",
            "occupation", "code_cs", list(comptes.index[:NB_CITES]))


def _identifiants_occupation(table: pd.DataFrame, code_insee: np.ndarray, source: np.ndarray, entiere: np.ndarray,
                             avertissements: list[str]) -> pd.Series:
    """Identifiants des morceaux : ceux de la source (suffixés par commune si découpés), sinon recalculés."""
    ids_source = table["_id_source"].to_numpy()[source]
    if table["_id_source"].isna().all() or table["_id_source"].duplicated().any():
        ordre = pd.Series(code_insee).groupby(code_insee).cumcount() + 1
        ids = pd.Series(code_insee) + "-" + ordre.astype(str).str.zfill(7)
        if not table["_id_source"].isna().all():
            avertissements.append("Identifiants ID en double dans la source : identifiants recalculés par commune.")
        return ids
    return pd.Series(np.where(entiere, ids_source, pd.Series(ids_source).astype(str) + "-" + code_insee))


def importer_occupation(dossier: Path, codes: list[str], fichiers: list[Path], crs_declare: str | None,
                        couche: str | None, colonne_couverture: str | None, correspondance: Path | None
                        ) -> tuple[gpd.GeoDataFrame, list[str], str, list[str]]:
    """Occupation du sol découpée par les communes du territoire ; renvoie table, fichiers, source, avertissements."""
    from donnees.geometrie import repartir_par_commune

    if not couche_presente("communes", dossier):
        raise ErreurDonnees("Importez d'abord les communes (desimper importer communes) : l'occupation du sol "
                            "est découpée par les contours des communes du territoire.", "occupation")
    if bool(colonne_couverture) != bool(correspondance):
        raise ErreurDonnees("--colonne-couverture et --correspondance vont ensemble : la colonne de couverture "
                            "du fichier et la table CSV qui la traduit en codes OCS GE.", "occupation")
    communes = lire_couche("communes", dossier)
    communes = communes[communes["code_insee"].isin(codes)].reset_index(drop=True)
    emprise = tuple(communes.total_bounds)
    table_corr = lire_table_correspondance(correspondance) if correspondance else None
    lectures = [lire_fichier(f, crs_declare, couche, emprise, couche_defaut="OCCUPATION_SOL") for f in fichiers]
    _verifier_meme_systeme(lectures)
    avertissements: list[str] = []
    morceaux = [_morceau_occupation(lecture, table_corr, colonne_couverture, correspondance)
                for lecture in lectures if len(lecture.table)]
    if not morceaux:
        raise ErreurDonnees(f"Couche d'occupation du sol vide : aucun polygone dans l'emprise du territoire "
                            f"({citer((Path(f).name for f in fichiers), 3)}). Le fichier couvre-t-il bien le "
                            "territoire (autre département) ?", "occupation")
    table = pd.concat(morceaux, ignore_index=True)
    if table_corr is None:
        _verifier_codes_ocsge(table)
    geometries = _polygones_valides(shapely.force_2d(en_lambert93(table).geometry.values))
    garder = ~shapely.is_missing(geometries)
    table, geometries = table.loc[garder].reset_index(drop=True), geometries[garder]
    contours = _polygones_valides(en_lambert93(communes).geometry.values)
    geoms, source, rang, entiere = repartir_par_commune(geometries, contours, SURFACE_MIN_MORCEAU_M2)
    if len(geoms) == 0:
        raise ErreurDonnees(f"Aucun polygone d'occupation du sol dans les communes du territoire "
                            f"({citer((Path(f).name for f in fichiers), 3)}) : le fichier couvre-t-il bien le "
                            "territoire (autre département) ?", "occupation")
    code_insee = communes["code_insee"].to_numpy()[rang]
    ids = _identifiants_occupation(table, code_insee, source, entiere, avertissements)
    resultat = gpd.GeoDataFrame({
        "id": ids.to_numpy(), "code_insee": code_insee, "code_cs": table["code_cs"].to_numpy()[source],
        "code_us": pd.Series(table["code_us"].to_numpy()[source], dtype=object),
    }, geometry=geoms, crs=CRS_CALCUL)
    resultat = en_wgs84(resultat)
    resultat = resultat.sort_values("id", kind="stable").reset_index(drop=True)
    source_nom = DESCRIPTIONS["occupation"]["source"] if table_corr is None else "Couche d'occupation du sol fournie"
    return resultat, [str(f) for f in fichiers], source_nom, avertissements


# ------------------------------------------------------------------------------------------- orchestration


def importer_couche(couche: str, dossier: Path | None = None, *, telecharger: bool | None = None,
                    fichiers: list[Path | str] | None = None, forcer: bool = False, millesime: str | None = None,
                    crs: str | None = None, couche_fichier: str | None = None,
                    colonne_couverture: str | None = None, correspondance: Path | str | None = None,
                    progression: bool = False) -> RapportImport:
    """Importe une couche réelle (``communes``, ``parcelles``, ``batiments``, ``occupation``).

    Sans ``fichiers`` ni ``telecharger``, les communes et le cadastre sont téléchargés ; l'occupation du
    sol demande un fichier. ``crs`` : système des fichiers qui n'en déclarent pas ; ``couche_fichier`` :
    couche à lire dans un GeoPackage. Lève :class:`ErreurDonnees` (message en français) sans rien écrire.
    """
    dossier = Path(dossier) if dossier else dossier_donnees()
    reprendre_publication(dossier)  # import précédent tué après sa décision : terminé avant tout
    if couche not in COUCHES_IMPORTABLES:
        raise ErreurDonnees(f"Couche « {couche} » non importable (couches : {', '.join(COUCHES_IMPORTABLES)}).",
                            "import")
    fichiers = [Path(f) for f in (fichiers or [])]
    if telecharger and fichiers:
        raise ErreurDonnees("Choisissez --telecharger ou --depuis, pas les deux.", "import")
    if telecharger is None:
        telecharger = not fichiers
    if crs:
        try:
            pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError:
            raise ErreurDonnees(f"Système de coordonnées « {crs} » inconnu (exemple : EPSG:2154).", "import",
                                "crs") from None
    territoire = _lire_territoire_reel(dossier)
    codes = [str(c) for c in territoire["codes_insee"]]
    urls_base = urls_sources(territoire)
    description = dict(DESCRIPTIONS[couche])
    if couche == "occupation":
        if telecharger:
            departements = ", ".join(sorted({departement_de(c) for c in codes}))
            raise ErreurDonnees(
                "L'OCS GE de l'IGN se télécharge par département, en archive à décompresser : récupérez le "
                f"GeoPackage du ou des départements du territoire ({departements}) sur {URL_OCSGE}, puis : "
                "desimper importer occupation --depuis OCS-GE_….gpkg. Une autre couche de polygones s'importe "
                "avec --colonne-couverture COLONNE --correspondance TABLE.csv.",
                "occupation")
        table, noms_fichiers, description["source"], avertissements = importer_occupation(
            dossier, codes, fichiers, crs, couche_fichier, colonne_couverture,
            Path(correspondance) if correspondance else None)
        urls, dates = [], []
        if description["source"] != DESCRIPTIONS["occupation"]["source"]:
            description.update(producteur="non précisé",
                               attribution=f"Source : {', '.join(f.name for f in fichiers)}")
        par_commune = _compter(table["code_insee"])
    elif couche == "communes":
        table, urls, noms_fichiers, dates, avertissements = importer_communes(
            dossier, codes, urls_base["geo_api"], telecharger, fichiers, crs, couche_fichier, forcer, progression)
        if not telecharger:
            description["source"] = "IGN – ADMIN EXPRESS (fichier)"
        table["source_geometrie"] = (description["source"] if telecharger else
                                     f"fichier {', '.join(f.name for f in fichiers)}")
        table = table[["code_insee", "nom", "population", "source_geometrie", "geometry"]]
        table = table.sort_values("code_insee").reset_index(drop=True)
        par_commune = _compter(table["code_insee"])
    else:
        table, urls, noms_fichiers, dates, avertissements = importer_cadastre(
            couche, dossier, codes, urls_base["cadastre"], telecharger, fichiers, crs, forcer, progression)
        par_commune = _compter(table["commune"])
    fiche_commune = dict(
        source=description["source"], producteur=description["producteur"],
        attribution=description["attribution"], origine="telechargement" if telecharger else "fichier",
        urls=urls, fichiers=noms_fichiers, millesime=_millesime(millesime, urls + [Path(f).name for f in fichiers],
                                                                dates))
    # Tout est validé avant la moindre écriture : un refus laisse les couches précédentes en place.
    table = valider_couche(couche, gpd.GeoDataFrame(table, geometry="geometry", crs=CRS_STOCKAGE))
    fiches = {couche: construire_fiche(couche, nombre=len(table), par_commune=par_commune, **fiche_commune)}
    tables = {couche: table}
    if couche == "communes":
        affichage = valider_couche("communes_affichage", construire_communes_affichage(table))
        fiches["communes_affichage"] = construire_fiche("communes_affichage", nombre=len(affichage),
                                                        par_commune=par_commune, **fiche_commune)
        tables["communes_affichage"] = affichage
    # Couches et fiches publiées ensemble (fichiers à part, manifeste, renommages) : un kill -9 ne laisse ni
    # une couche neuve à côté d'un ancien sources.json, ni de fichier provisoire après la reprise.
    publier_couches(dossier, tables, fiches)
    return RapportImport(couche, len(table), par_commune, avertissements, fiches[couche])


__all__ = ["COUCHES_IMPORTABLES", "ErreurTelechargement", "RapportImport", "importer_couche", "lire_geojson",
           "lire_table_correspondance", "url_cadastre"]
