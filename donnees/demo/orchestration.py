"""Orchestration de la démonstration : étapes, écriture des couches, du magasin et du territoire."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from donnees.config import NOM_BASE_SQLITE
from donnees.config import url_base as url_base_config
from donnees.demo.communes import (
    calculer_rayons_urbains,
    construire_bassin,
    construire_lagune,
    generer_communes,
    lire_contours_communes,
    placer_noyaux,
)
from donnees.demo.criteres import generer_criteres
from donnees.demo.departement import (
    ecrire_paquet,
    former_paquets,
    generer_paquet,
    lire_communes_departement,
    repartir_entre_paquets,
)
from donnees.demo.objectifs import generer_nouvelles_surfaces, generer_objectifs
from donnees.demo.occupation import generer_occupation
from donnees.demo.operations import generer_operations
from donnees.demo.parametres import TAILLES, lire_communes_demo, lire_parametres, lire_sources_demo
from donnees.demo.parcellaire import decouper_cellules, generer_parcelles
from donnees.demo.photos import generer_photos
from donnees.demo.ressources import generer_ressources_demo
from donnees.erreurs import ErreurDonnees, sur_panne
from donnees.geometrie import CRS_CALCUL, en_wgs84, vers_wgs84
from donnees.partitions import COLONNES_PARTITION
from donnees.referentiel import construire_communes_affichage, ecrire_couche, ecrire_territoire
from donnees.sources import enregistrer_sources, fiches_demo


def _verifier_base_vide(url: str) -> None:
    """Refuse une base PostgreSQL qui contient déjà des opérations (une base SQLite est effacée)."""
    from donnees.magasin import Magasin  # import local : le magasin n'est utile qu'ici et à la fin

    if url.startswith("sqlite"):
        return
    magasin = Magasin(url)
    magasin.creer_tables()
    deja = magasin.compter().get("operation", 0)
    magasin.fermer()
    if deja:
        raise ErreurDonnees("La base du magasin contient déjà des opérations : la démonstration ne les "
                            "écrase pas. Utilisez une base neuve ou videz-la.", "demo")


def _placer_zones(operations: list[dict], zones_l93: list[list], codes_insee: np.ndarray) -> np.ndarray:
    """Zones des opérations reprojetées en WGS84 ; renvoie la surface désimperméabilisée réalisée par commune."""
    toutes = np.array([z[0] for zs in zones_l93 for z in zs], dtype=object)
    zones_wgs84 = iter(vers_wgs84(toutes))
    desimpermeabilise = np.zeros(len(codes_insee))
    rang_de = {c: i for i, c in enumerate(codes_insee)}
    for operation, zones in zip(operations, zones_l93):
        operation["zones"] = [{"geometrie": next(zones_wgs84), "revetement_avant": av, "revetement_apres": ap}
                              for _g, av, ap in zones]
        if operation["statut"] == "realisee":
            desimpermeabilise[rang_de[operation["code_insee"]]] += sum(g.area for g, av, ap in zones if ap != av)
    return desimpermeabilise


def _couche_occupation(occupation: dict, codes_insee: np.ndarray) -> gpd.GeoDataFrame:
    """Couche d'occupation du sol (Lambert-93), triée par commune et numérotée ``<code INSEE>-000001``."""
    ordre = np.argsort(occupation["commune"], kind="stable")
    rang_commune = occupation["commune"][ordre]
    numero = pd.Series(rang_commune).groupby(rang_commune).cumcount() + 1
    return gpd.GeoDataFrame({
        "id": pd.Series(codes_insee[rang_commune]) + "-" + numero.astype(str).str.zfill(6),
        "code_insee": codes_insee[rang_commune],
        "code_cs": occupation["code_cs"][ordre],
        "code_us": pd.Series(occupation["code_us"][ordre], dtype=object),
    }, geometry=occupation["geometrie"][ordre], crs=CRS_CALCUL)


def _ecrire_couches(dossier: Path, table: pd.DataFrame, communes: np.ndarray, parc: dict, occupation: dict,
                    objectifs: pd.DataFrame, nouvelles: pd.DataFrame, parametres: dict,
                    etape: Callable, graine: int = 42) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Écrit les couches du référentiel (WGS84), les couches de critères du potentiel (synthétiques) et leurs fiches
    de sources ; renvoie parcelles et occupation."""
    codes_insee = table["code_insee"].to_numpy()
    couche_communes = gpd.GeoDataFrame(
        {"code_insee": codes_insee, "nom": table["nom"].to_numpy(),
         "population": table["population"].to_numpy().astype(np.int64),
         "source_geometrie": parametres["territoire"]["source_geometrie"]}, geometry=communes, crs=CRS_CALCUL)
    ecrire_couche("communes", en_wgs84(couche_communes), dossier)
    ecrire_couche("communes_affichage", construire_communes_affichage(
        couche_communes, parametres["bassin"]["tolerance_affichage_m"]), dossier)
    ordre = np.argsort(parc["attributs"]["id"].to_numpy(), kind="stable")
    couche_parcelles = gpd.GeoDataFrame(parc["attributs"].iloc[ordre].reset_index(drop=True),
                                        geometry=parc["geometrie"][ordre], crs=CRS_CALCUL)
    ecrire_couche("parcelles", en_wgs84(couche_parcelles), dossier)
    etape("Écriture de l'occupation du sol", 0.7)
    couche_occupation = _couche_occupation(occupation, codes_insee)
    ecrire_couche("occupation", en_wgs84(couche_occupation), dossier)
    ecrire_couche("objectifs", objectifs, dossier)
    ecrire_couche("nouvelles_surfaces", nouvelles, dossier)
    criteres = generer_criteres(communes, codes_insee, parc["geometrie"], parc["commune"], parametres, graine)
    for nom, couche in criteres.items():
        ecrire_couche(nom, couche, dossier)

    sources_reelles = lire_sources_demo()

    def compter(serie: pd.Series) -> tuple[int, dict[str, int]]:
        return len(serie), {str(k): int(v) for k, v in serie.value_counts().items() if k != "bassin"}

    enregistrer_sources(fiches_demo({
        "communes": compter(pd.Series(codes_insee)), "communes_affichage": compter(pd.Series(codes_insee)),
        "parcelles": compter(couche_parcelles["commune"]), "occupation": compter(couche_occupation["code_insee"]),
        "objectifs": compter(objectifs["territoire"]), "nouvelles_surfaces": compter(nouvelles["code_insee"]),
        **{nom: compter(couche["code_insee"]) for nom, couche in criteres.items()},
    }, {"communes": sources_reelles["communes"], "communes_affichage": sources_reelles["communes"]}),
        dossier, remplacer_tout=True)
    return couche_parcelles, couche_occupation


def _enregistrer_operations(url: str, operations: list[dict], auteur: str,
                            progression: Callable[[str, float], None] | None) -> dict:
    """Écrit les opérations dans le magasin ; renvoie les comptes par table."""
    from donnees.magasin import Magasin  # import local : le magasin n'est utile qu'à la fin

    magasin = Magasin(url)
    magasin.creer_tables()

    def suivre(faites: int, total: int) -> None:
        if progression is not None:
            progression("Enregistrement des opérations", 0.85 + 0.14 * faites / max(total, 1))

    magasin.importer_lot(operations, auteur=auteur, progression=suivre)
    generer_ressources_demo(magasin, auteur, "Syndicat de bassin (démonstration)")  # ressources (issue 16)
    comptes = magasin.compter()
    magasin.fermer()
    return comptes


def _enregistrer_agenda(url: str, contours_l93: dict, comptes: dict) -> dict:
    """Événements de l'agenda de la démonstration (``agenda_demo.json``) ; renvoie les comptes complétés."""
    from donnees.demo.agenda import generer_agenda_demo
    from donnees.magasin import Magasin

    magasin = Magasin(url)
    try:
        return {**comptes, "evenement": generer_agenda_demo(magasin, contours_l93)}
    finally:
        magasin.fermer()


def generer_demo(dossier: Path, taille: str = "complete", graine: int = 42, url_base: str | None = None,
                 progression: Callable[[str, float], None] | None = None) -> dict:
    """Génère le territoire de démonstration dans ``dossier`` et les opérations dans le magasin.

    ``taille`` : ``"petite"`` (tests, quelques secondes) ou ``"complete"`` (CONCEPTION §7).
    ``url_base`` : URL du magasin (défaut : SQLite du dossier). La démonstration est construite à côté, dans un
    dossier de chantier du même parent, puis échangée d'un coup avec l'ancienne (couches, base SQLite, photos) :
    une panne (disque plein) ou une erreur en cours de route laisse l'ancienne démonstration intacte, ses
    opérations et ses comptes compris. Une base PostgreSQL qui contient déjà des opérations est refusée.
    ``progression(étape, fraction)`` est appelée à chaque étape. Renvoie un résumé (comptes, durées).
    """
    if taille not in TAILLES:
        raise ErreurDonnees(f"Taille de démonstration « {taille} » inconnue : {', '.join(TAILLES)}.", "demo")
    dossier = Path(dossier).absolute()
    url = url_base or url_base_config(dossier)
    base_locale = url == f"sqlite:///{(dossier / NOM_BASE_SQLITE).as_posix()}"
    _verifier_base_vide(url)
    with sur_panne(f"le dossier {dossier.parent}"):
        dossier.parent.mkdir(parents=True, exist_ok=True)
        chantier = Path(tempfile.mkdtemp(prefix=f".{dossier.name}.demo-", dir=dossier.parent))
        try:
            url_chantier = f"sqlite:///{(chantier / NOM_BASE_SQLITE).as_posix()}" if base_locale else url
            resume = _construire_demo(chantier, taille, graine, url_chantier, progression)
            _echanger_dossiers(chantier, dossier, base_locale)
        finally:
            shutil.rmtree(chantier, ignore_errors=True)
    return resume


def _echanger_dossiers(chantier: Path, dossier: Path, base_locale: bool) -> None:
    """Met chaque fichier du ``chantier`` à sa place dans ``dossier`` par renommage (même système de fichiers),
    après avoir mis de côté l'ancien (avec les fichiers obsolètes : bâtiments d'un import réel, journal WAL de
    l'ancienne base) ; au moindre échec, tout est remis comme avant. L'ancien est effacé à la fin."""
    dossier.mkdir(parents=True, exist_ok=True)
    cote = Path(tempfile.mkdtemp(prefix=f".{dossier.name}.ancien-", dir=dossier.parent))
    nouveaux = sorted(p.name for p in chantier.iterdir())
    # bâtiments d'un import réel, ancien format (un seul fichier) des couches rangées par commune
    obsoletes = ["batiments"] + [f"{n}.parquet" for n in COLONNES_PARTITION] + (
        [f"{NOM_BASE_SQLITE}{s}" for s in ("-wal", "-shm", "-journal")] if base_locale else [])
    deplaces, poses = [], []
    try:
        for nom in dict.fromkeys(nouveaux + obsoletes):
            if os.path.lexists(dossier / nom):
                os.replace(dossier / nom, cote / nom)
                deplaces.append(nom)
        for nom in nouveaux:
            os.replace(chantier / nom, dossier / nom)
            poses.append(nom)
    except OSError:
        for nom in reversed(poses):
            os.replace(dossier / nom, chantier / nom)
        for nom in reversed(deplaces):
            os.replace(cote / nom, dossier / nom)
        shutil.rmtree(cote, ignore_errors=True)
        raise
    shutil.rmtree(cote, ignore_errors=True)


def _construire_demo(dossier: Path, taille: str, graine: int, url: str,
                     progression: Callable[[str, float], None] | None) -> dict:
    """Écrit toute la démonstration dans ``dossier`` (un dossier de chantier neuf) et ses opérations à ``url``."""
    if taille == "departement":
        return _construire_demo_departement(dossier, graine, url, progression)
    debut = time.perf_counter()
    durees: dict[str, float] = {}
    top = [debut]

    def etape(libelle: str, fraction: float, nom: str | None = None) -> None:
        maintenant = time.perf_counter()
        if nom:
            durees[nom] = round(maintenant - top[0], 2)
        top[0] = maintenant
        if progression is not None:
            progression(libelle, fraction)

    parametres = lire_parametres()
    config = parametres["tailles"][taille]
    rng = np.random.default_rng(graine)

    # 1. communes réelles, étang, bassin, noyaux urbains
    etape("Communes et étang", 0.02)
    table = lire_communes_demo()
    codes_insee = table["code_insee"].to_numpy()
    population = table["population"].to_numpy()
    pas = parametres["bassin"]["densification_m"]
    lagune = shapely.segmentize(construire_lagune(parametres), pas)
    contours = lire_contours_communes(table, parametres)
    communes = shapely.segmentize(generer_communes(contours, lagune), pas)
    terre = construire_bassin(communes)
    noyaux = placer_noyaux(table, communes, parametres)

    # 2. parcelles
    etape("Découpage parcellaire", 0.08, "communes")
    rayons = calculer_rayons_urbains(noyaux["population"].to_numpy(), parametres, config["facteur_rayon_urbain"])
    emprise = tuple(float(v) for v in terre.bounds)
    decoupe = decouper_cellules(emprise, terre, (noyaux["x"].to_numpy(), noyaux["y"].to_numpy()), rayons,
                                parametres, config, rng)
    parc = generer_parcelles(decoupe, communes, codes_insee, emprise, parametres)

    # 3. occupation du sol
    etape("Occupation du sol", 0.3, "parcelles")
    occupation, disposition = generer_occupation(parc, decoupe, communes, parametres, rng)

    # 4. opérations et photos
    etape("Opérations", 0.45, "occupation")
    table["littorale"] = shapely.intersects(contours, lagune)
    operations, zones_l93 = generer_operations(parc, disposition, table, decoupe["noms_vocations"],
                                               parametres, config, rng)
    desimpermeabilise = _placer_zones(operations, zones_l93, codes_insee)
    nb_photos = generer_photos(operations, dossier, int(config["nb_photos"]), parametres, rng)

    # 5. objectifs et nouvelles surfaces
    objectifs = generer_objectifs(codes_insee, population, parametres, config)
    nouvelles = generer_nouvelles_surfaces(codes_insee, population, desimpermeabilise, parametres, rng)

    # 6. écriture des couches
    etape("Écriture des couches", 0.55, "operations")
    couche_parcelles, couche_occupation = _ecrire_couches(dossier, table, communes, parc, occupation, objectifs,
                                                          nouvelles, parametres, etape, graine)

    # 7. magasin
    etape("Enregistrement des opérations", 0.85, "ecriture_couches")
    comptes = _enregistrer_operations(url, operations, parametres["territoire"]["auteur"], progression)
    comptes = _enregistrer_agenda(url, dict(zip((str(c) for c in codes_insee), communes)), comptes)

    # 8. territoire
    ecrire_territoire({
        "nom": parametres["territoire"]["nom"], "demo": True, "codes_insee": [str(c) for c in codes_insee],
        "graine": int(graine), "taille": taille,
        "genere_le": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }, dossier)
    etape("Terminé", 1.0, "magasin")
    return {
        "taille": taille, "graine": int(graine), "communes": len(codes_insee),
        "parcelles": len(couche_parcelles), "occupation": len(couche_occupation),
        "operations": len(operations), "zones": int(sum(len(o["zones"]) for o in operations)),
        "financements": int(sum(len(o["financements"]) for o in operations)), "photos": nb_photos,
        "emprises_equipement": int(len(disposition["rang"])),
        "magasin": comptes, "durees_s": durees, "duree_totale_s": round(time.perf_counter() - debut, 2),
    }


def _ecrire_communes_departement(dossier: Path, table: pd.DataFrame, contours: np.ndarray, parametres: dict,
                                 config: dict, desimpermeabilise: np.ndarray, graine: int,
                                 comptes: dict[str, pd.Series]) -> None:
    """Couches entières du département (communes, objectifs, nouvelles surfaces) et fiches de sources."""
    codes_insee = table["code_insee"].to_numpy()
    population = table["population"].to_numpy()
    couche_communes = gpd.GeoDataFrame(
        {"code_insee": codes_insee, "nom": table["nom"].to_numpy(), "population": population.astype(np.int64),
         "source_geometrie": parametres["departement"]["source_geometrie"]}, geometry=contours, crs=CRS_CALCUL)
    ecrire_couche("communes", en_wgs84(couche_communes), dossier)
    ecrire_couche("communes_affichage", construire_communes_affichage(
        couche_communes, parametres["bassin"]["tolerance_affichage_m"]), dossier)
    objectifs = generer_objectifs(codes_insee, population, parametres, config)
    nouvelles = generer_nouvelles_surfaces(codes_insee, population, desimpermeabilise, parametres,
                                           np.random.default_rng([graine, 1_000_000]))
    ecrire_couche("objectifs", objectifs, dossier)
    ecrire_couche("nouvelles_surfaces", nouvelles, dossier)

    def compter(serie: pd.Series) -> tuple[int, dict[str, int]]:
        return int(serie.sum()), {str(k): int(v) for k, v in serie.items() if k != "bassin" and v}

    source = lire_sources_demo()["communes_departement"]
    enregistrer_sources(fiches_demo({
        "communes": compter(pd.Series(1, index=codes_insee)),
        "communes_affichage": compter(pd.Series(1, index=codes_insee)),
        "parcelles": compter(comptes["parcelles"]), "occupation": compter(comptes["occupation"]),
        "objectifs": compter(objectifs["territoire"].value_counts()),
        "nouvelles_surfaces": compter(nouvelles["code_insee"].value_counts()),
    }, {"communes": source, "communes_affichage": source}), dossier, remplacer_tout=True)


def _construire_demo_departement(dossier: Path, graine: int, url: str,
                                 progression: Callable[[str, float], None] | None) -> dict:
    """Démonstration départementale, paquet de communes par paquet (voir :mod:`donnees.demo.departement`) :
    partitions écrites et opérations envoyées au magasin au fil de l'eau, mémoire bornée par le paquet."""
    from donnees.magasin import Magasin  # import local : le magasin n'est utile qu'ici et à la fin

    debut = time.perf_counter()
    parametres = lire_parametres()
    config, pd_ = parametres["tailles"]["departement"], parametres["departement"]
    table, contours = lire_communes_departement(parametres)
    codes_insee = table["code_insee"].to_numpy()
    noyaux = pd.DataFrame({"x": shapely.get_x(shapely.point_on_surface(contours)),
                           "y": shapely.get_y(shapely.point_on_surface(contours)),
                           "population": table["population"].to_numpy(dtype=float)})
    paquets = former_paquets(contours, int(pd_["communes_par_paquet"]), pd_["pas_morton_m"])
    visees = repartir_entre_paquets(table["population"].to_numpy(), paquets, int(config["nb_operations"]),
                                    parametres["operations"]["exposant_population"])
    desimpermeabilise = np.zeros(len(codes_insee))
    comptes = {"parcelles": pd.Series(0, index=codes_insee), "occupation": pd.Series(0, index=codes_insee)}
    resume = {"operations": 0, "zones": 0, "financements": 0, "photos": 0}
    magasin, report = Magasin(url), 0
    magasin.creer_tables()
    try:
        for k, rangs in enumerate(paquets):
            if progression is not None:
                progression(f"Paquet {k + 1}/{len(paquets)}", 0.02 + 0.9 * k / len(paquets))
            rng = np.random.default_rng([graine, k])
            parc, occupation, operations, zones, _ = generer_paquet(
                rangs, table, contours, noyaux, visees[k] + report, parametres, config, rng)
            report = max(0, int(visees[k] + report) - len(operations))  # emprises manquantes : au paquet suivant
            codes = codes_insee[rangs]
            desimpermeabilise[rangs] += _placer_zones(operations, zones, codes)
            if k == 0:
                resume["photos"] = generer_photos(operations, dossier, int(config["nb_photos"]), parametres, rng)
            nb_parcelles, nb_polygones = ecrire_paquet(dossier, codes, parc, occupation, _couche_occupation)
            comptes["parcelles"][codes] = nb_parcelles.to_numpy()
            comptes["occupation"][codes] = nb_polygones.to_numpy()
            magasin.importer_lot(operations, auteur=parametres["territoire"]["auteur"])
            resume["operations"] += len(operations)
            resume["zones"] += sum(len(o["zones"]) for o in operations)
            resume["financements"] += sum(len(o["financements"]) for o in operations)
            del parc, occupation, operations, zones
        resume["magasin"] = magasin.compter()
    finally:
        magasin.fermer()
    _ecrire_communes_departement(dossier, table, contours, parametres, config, desimpermeabilise, graine, comptes)
    ecrire_territoire({
        "nom": pd_["nom"], "demo": True, "codes_insee": [str(c) for c in codes_insee], "graine": int(graine),
        "taille": "departement", "genere_le": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }, dossier)
    if progression is not None:
        progression("Terminé", 1.0)
    return {"taille": "departement", "graine": int(graine), "communes": len(codes_insee),
            "parcelles": int(comptes["parcelles"].sum()), "occupation": int(comptes["occupation"].sum()),
            "paquets": len(paquets), **resume, "duree_totale_s": round(time.perf_counter() - debut, 2)}
