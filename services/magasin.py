"""Accès au magasin des opérations pour les services : ouverture et fermeture sûres."""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from donnees import cache_modeles
from donnees.comptes import Utilisateur
from donnees.config import url_base
from donnees.droits import conditions_lecture_sql
from donnees.magasin import Magasin, table_operation
from donnees.geometrie import CRS_STOCKAGE
from indicateurs.agregats import RegistreAgrege, coefficients_revetements
from indicateurs.chaleur_abords import estimer_rafraichissement_operations, lire_facteur_calibrage, ponderer_sites


@contextmanager
def ouvrir_magasin(dossier: Path | None = None):
    """Magasin du dossier de données (``None`` : dossier configuré), fermé à la sortie du bloc."""
    magasin = Magasin(url_base(dossier))
    try:
        yield magasin
    finally:
        magasin.fermer()


def lire_registre(dossier: Path | None = None) -> tuple:
    """Opérations, zones et financements du magasin (registre entier, sans filtre de droits)."""
    with ouvrir_magasin(dossier) as magasin:
        return magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()


journal = logging.getLogger(__name__)
VERSION_REGISTRE_MODELES = "registre-modeles-1"  # à changer si lire_registre_modeles change de colonnes
PREFIXE_REGISTRE_MODELES = "registre_modeles"


def signer_base(magasin: Magasin) -> str | None:
    """Signature d'une base SQLite qui change à chaque écriture, par n'importe quel chemin (application, CLI,
    SQL direct) : taille et date de modification (ns) du fichier et de son journal ``-wal`` s'il n'est pas vide,
    plus le nombre de lignes de chaque table (journal compris). ``None`` pour PostgreSQL ou une base en mémoire
    (pas de fichier)."""
    if magasin.est_postgresql:
        return None
    base = magasin.moteur.url.database or ""
    if not base or base == ":memory:":
        return None
    fichiers = []
    for chemin in (Path(base), Path(f"{base}-wal")):
        try:
            etat = chemin.stat()
        except FileNotFoundError:
            continue
        if etat.st_size or chemin.name == Path(base).name:  # journal vide (recréé à chaque ouverture) : ignoré
            fichiers.append((chemin.name, etat.st_size, etat.st_mtime_ns))
    return cache_modeles.calculer_empreinte(VERSION_REGISTRE_MODELES, fichiers, sorted(magasin.compter().items()))


def lire_registre_modeles(magasin: Magasin, dossier: Path | None) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """(opérations, zones des opérations validées) que lisent les modèles (:meth:`Magasin.lire_registre_modeles`),
    gardées dans ``cache/registre_modeles_<signature>_*.parquet`` pour une base SQLite inchangée
    (:func:`signer_base`) : un démarrage à froid relit 2 fichiers au lieu de décoder toutes les zones validées
    (1,9 s à 50 000 opérations). Base PostgreSQL, sans dossier ou dossier en lecture seule : lues dans la base."""
    signature = signer_base(magasin) if dossier is not None else None
    if signature is None:
        return magasin.lire_registre_modeles()
    cache = cache_modeles.dossier_cache(dossier)
    chemins = [cache / f"{PREFIXE_REGISTRE_MODELES}_{signature}_{nom}.parquet" for nom in ("operations", "zones")]
    if all(c.exists() for c in chemins):
        try:
            # Même objet CRS que la lecture dans la base (le GeoParquet relu donne un PROJJSON équivalent, mais
            # son texte change la clé des modèles).
            return pd.read_parquet(chemins[0]), gpd.read_parquet(chemins[1]).set_crs(CRS_STOCKAGE,
                                                                                      allow_override=True)
        except (OSError, ValueError) as exc:  # fichier abîmé : relu dans la base, puis réécrit
            journal.warning("Registre des modèles gardé illisible, relu dans la base : %s", exc)
    operations, zones = magasin.lire_registre_modeles()  # signature lue avant : une écriture entre-temps la périme
    try:
        cache_modeles.ecrire_atomiquement(chemins[0], lambda t: operations.to_parquet(t, index=False))
        cache_modeles.ecrire_atomiquement(chemins[1], lambda t: zones.to_parquet(t, index=False))
        for ancien in cache.glob(f"{PREFIXE_REGISTRE_MODELES}_*.parquet"):
            if ancien not in chemins:
                ancien.unlink(missing_ok=True)
    except OSError as exc:
        journal.warning("Registre des modèles non gardé : %s", exc)
    return operations, zones


def preparer_magasin(url: str) -> Magasin:
    """Magasin ouvert pour la durée du processus, tables créées si la base est neuve (territoire réel tout juste
    initialisé : base encore vide)."""
    magasin = Magasin(url)
    magasin.creer_tables()
    return magasin


def lire_agregats(magasin: Magasin, utilisateur: Utilisateur, parametres, avec_sites: bool = True) -> RegistreAgrege:
    """Agrégats du registre calculés par la base, limités à ce que ``utilisateur`` peut lire (règles de
    :mod:`donnees.droits` appliquées dans la requête) ; ``parametres`` : paramètres de modèle du territoire
    (tolérance d'écart entre surface déclarée et dessinée, estimation par site). Quelques milliers de lignes,
    quelle que soit la taille du registre. ``avec_sites`` : estimations de rafraîchissement par site sommées
    (celles qui manquent sont d'abord calculées et gardées : :func:`mettre_a_jour_estimations_site`)."""
    visible, detaillee = conditions_lecture_sql(utilisateur, table_operation.c)
    tables = magasin.agreger_registre(*coefficients_revetements(), visible, detaillee,
                                      float(parametres["ecart_surface_declaree"]))
    sites = None
    if avec_sites:
        cle = mettre_a_jour_estimations_site(magasin, parametres)
        sites = magasin.agreger_estimations(cle, visible)
    return RegistreAgrege(**tables, sites=sites)


TAILLE_PAQUET_ESTIMATIONS = 2000


def cle_estimations_site(parametres) -> str:
    """Empreinte (SHA-256) des paramètres de modèle et du facteur de calibrage : une estimation par site n'est
    réutilisée que pour les paramètres qui l'ont produite."""
    valeurs = parametres.en_dict() if hasattr(parametres, "en_dict") else dict(parametres)
    texte = json.dumps({"parametres": valeurs, "facteur": lire_facteur_calibrage()}, sort_keys=True, default=str)
    return hashlib.sha256(texte.encode("utf-8")).hexdigest()


def mettre_a_jour_estimations_site(magasin: Magasin, parametres, rappel=None) -> str:
    """Calcule et garde dans le magasin l'estimation de rafraîchissement des opérations réalisées qui n'en ont
    pas pour leur version et ces paramètres (:func:`indicateurs.chaleur_abords.estimer_rafraichissement_operations`,
    par paquets) ; renvoie la clé des paramètres. ``rappel(faites, total)`` : avancement."""
    valeurs = parametres.en_dict() if hasattr(parametres, "en_dict") else dict(parametres)
    cle = cle_estimations_site(valeurs)
    a_faire = magasin.lister_estimations_a_faire(cle)
    for debut in range(0, len(a_faire), TAILLE_PAQUET_ESTIMATIONS):
        paquet = a_faire.iloc[debut:debut + TAILLE_PAQUET_ESTIMATIONS]
        brutes = magasin.lire_zones_operations(paquet["id"])
        zones = gpd.GeoDataFrame(brutes.drop(columns="geometrie"), crs=CRS_STOCKAGE,
                                 geometry=shapely.from_wkb(brutes["geometrie"].to_numpy()) if len(brutes) else [])
        sites = ponderer_sites(estimer_rafraichissement_operations(zones, valeurs))
        estimations = (paquet.rename(columns={"id": "operation_id"})
                       .merge(sites, on="operation_id", how="left").fillna({"somme_ponderee": 0.0, "cellules": 0.0}))
        magasin.ecrire_estimations(estimations, cle)
        if rappel is not None:
            rappel(min(debut + TAILLE_PAQUET_ESTIMATIONS, len(a_faire)), len(a_faire))
    return cle
