"""Parcellaire de démonstration : découpage k-d en îlots et parcelles, numérotation façon Etalab."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from donnees.cadastre import composer_id_parcelle
from donnees.demo.communes import calculer_distance_relative, calculer_surface_cible
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import repartir_par_commune

_LETTRES = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def decouper_cellules(emprise: tuple, terre: shapely.Polygon, centres: tuple, rayons: np.ndarray,
                      parametres: dict, taille: dict, rng: np.random.Generator) -> dict:
    """Découpage k-d vectorisé de l'emprise en parcelles rectangulaires, groupées en îlots.

    À chaque niveau, toute cellule plus grande que la plus petite surface cible de son emprise (celle du
    point le plus proche d'un centre-bourg) est coupée le long de son grand côté. Une cellule qui passe sous
    ``facteur_ilot`` × cible devient un îlot : elle est rétrécie de la demi-largeur des voies (l'espace
    libéré forme les rues et chemins). Certaines cellules du tissu urbain deviennent des îlots d'équipement
    (écoles, parkings, places…) découpés en
    grandes parcelles. Les cellules hors de la terre (lagune, hors bassin) sont abandonnées.
    """
    pp, pe = parametres["parcellaire"], parametres["equipements"]
    vocations = pe["vocations"]
    noms_vocations = list(vocations)
    poids = np.array([vocations[v]["poids"] for v in noms_vocations], dtype=float)
    poids /= poids.sum()
    bornes_voc = np.array([vocations[v]["surface_parcelle_m2"] for v in noms_vocations], dtype=float)
    cx, cy = centres
    cote = pp["cote_cellule_initiale_m"]
    xmin, ymin, xmax, ymax = emprise
    gx, gy = np.meshgrid(np.arange(xmin, xmax, cote), np.arange(ymin, ymax, cote))
    x0, y0 = gx.ravel().astype(float), gy.ravel().astype(float)
    x1, y1 = x0 + cote, y0 + cote
    n = len(x0)
    ilot = np.full(n, -1, dtype=np.int64)
    cible_equip = np.full(n, np.nan)
    interieur = np.zeros(n, dtype=bool)
    shapely.prepare(terre)
    sorties, ilots = [], []
    nb_ilots = 0
    r_min, r_max = pp["ratio_decoupe"]
    a_min_eq, a_max_eq = pe["surface_ilot_m2"]
    for _niveau in range(80):
        if n == 0:
            break
        # 1. abandon des cellules hors de la terre ferme du bassin
        a_tester = np.flatnonzero(~interieur)
        if len(a_tester):
            boites = shapely.box(x0[a_tester], y0[a_tester], x1[a_tester], y1[a_tester])
            touche = shapely.intersects(terre, boites)
            interieur[a_tester] = shapely.contains_properly(terre, boites)
            garder = np.ones(n, dtype=bool)
            garder[a_tester] = touche
            x0, y0, x1, y1, ilot, cible_equip, interieur = (
                v[garder] for v in (x0, y0, x1, y1, ilot, cible_equip, interieur))
            n = len(x0)
            if n == 0:
                break
        # 2. surfaces cibles
        u = calculer_distance_relative((x0 + x1) / 2, (y0 + y1) / 2, cx, cy, rayons)
        u_min = calculer_distance_relative(x0, y0, cx, cy, rayons, x1, y1)
        cible = calculer_surface_cible(u_min, parametres, taille) * np.exp(
            pp["bruit_cible_sigma"] * rng.standard_normal(n))
        aire = (x1 - x0) * (y1 - y0)
        # 3. nouveaux îlots (équipements d'abord)
        libre = ilot < 0
        tirage = rng.random(n)
        equipement = (libre & (u <= pe["distance_relative_max"]) & (aire >= a_min_eq) & (aire <= a_max_eq)
                      & (tirage < taille.get("probabilite_equipement", pe["probabilite_par_niveau"])))
        nouveaux = np.flatnonzero(libre & (equipement | (aire <= pp["facteur_ilot"] * cible)))
        if len(nouveaux):
            urbain = u[nouveaux] < pp["distance_relative_rurale"]
            demi = np.where(urbain, pp["demi_largeur_voie_urbaine_m"], pp["demi_largeur_chemin_rural_m"])
            demi = np.minimum(demi, 0.2 * np.minimum(x1[nouveaux] - x0[nouveaux], y1[nouveaux] - y0[nouveaux]))
            vocation = np.full(len(nouveaux), -1, dtype=np.int64)
            est_eq = equipement[nouveaux]
            vocation[est_eq] = rng.choice(len(noms_vocations), size=int(est_eq.sum()), p=poids)
            bornes = bornes_voc[vocation[est_eq]]
            cible_equip[nouveaux[est_eq]] = rng.uniform(bornes[:, 0], bornes[:, 1])
            ilots.append({"x0": x0[nouveaux], "y0": y0[nouveaux], "x1": x1[nouveaux], "y1": y1[nouveaux],
                          "demi": demi, "u": u[nouveaux], "vocation": vocation})
            ilot[nouveaux] = nb_ilots + np.arange(len(nouveaux))
            nb_ilots += len(nouveaux)
            x0[nouveaux] += demi
            y0[nouveaux] += demi
            x1[nouveaux] -= demi
            y1[nouveaux] -= demi
            aire[nouveaux] = (x1[nouveaux] - x0[nouveaux]) * (y1[nouveaux] - y0[nouveaux])
        cible = np.where(np.isnan(cible_equip), cible, cible_equip)
        # 4. parcelles terminées
        fini = (ilot >= 0) & (aire <= cible)
        if fini.any():
            sorties.append({"x0": x0[fini], "y0": y0[fini], "x1": x1[fini], "y1": y1[fini],
                            "ilot": ilot[fini], "u": u[fini]})
        # 5. découpe des autres le long du grand côté
        reste = ~fini
        x0, y0, x1, y1, ilot, cible_equip, interieur = (
            v[reste] for v in (x0, y0, x1, y1, ilot, cible_equip, interieur))
        n = len(x0)
        if n == 0:
            break
        ratio = rng.uniform(r_min, r_max, n)
        sur_x = (x1 - x0) >= (y1 - y0)
        xm, ym = x0 + ratio * (x1 - x0), y0 + ratio * (y1 - y0)
        x0, y0, x1, y1 = (np.concatenate([x0, np.where(sur_x, xm, x0)]),
                          np.concatenate([y0, np.where(sur_x, y0, ym)]),
                          np.concatenate([np.where(sur_x, xm, x1), x1]),
                          np.concatenate([np.where(sur_x, y1, ym), y1]))
        ilot, cible_equip, interieur = (np.concatenate([v, v]) for v in (ilot, cible_equip, interieur))
        n = len(x0)
    else:
        raise ErreurDonnees("Démonstration : le découpage parcellaire ne converge pas.", "parcelles")
    parcelles = {k: np.concatenate([s[k] for s in sorties]) for k in sorties[0]}
    ilots_tout = {k: np.concatenate([s[k] for s in ilots]) for k in ilots[0]}
    parcelles["vocation"] = ilots_tout["vocation"][parcelles["ilot"]]
    return {"parcelles": parcelles, "ilots": ilots_tout, "noms_vocations": noms_vocations}


def numeroter_parcelles(geometries: np.ndarray, rang_commune: np.ndarray, codes_insee: np.ndarray,
                        emprise: tuple, parametres: dict) -> pd.DataFrame:
    """Sections (mailles d'une grille, lettrées AA, AB… par commune) et numéros dans chaque section."""
    pp = parametres["parcellaire"]
    pas = pp["cote_section_m"]
    point = shapely.point_on_surface(geometries)
    px, py = shapely.get_x(point), shapely.get_y(point)
    table = pd.DataFrame({"commune": rang_commune, "ligne": np.floor((emprise[3] - py) / pas).astype(np.int64),
                          "colonne": np.floor((px - emprise[0]) / pas).astype(np.int64),
                          "px": px, "py": py})
    mailles = table[["commune", "ligne", "colonne"]].drop_duplicates().sort_values(["commune", "ligne", "colonne"])
    mailles["rang_section"] = mailles.groupby("commune").cumcount()
    if mailles["rang_section"].max() >= len(_LETTRES) ** 2:
        raise ErreurDonnees("Démonstration : trop de sections dans une commune (augmentez cote_section_m).",
                            "parcelles", "section")
    table = table.merge(mailles, on=["commune", "ligne", "colonne"], how="left")
    table["ordre"] = np.arange(len(table))
    table = table.sort_values(["commune", "rang_section", "py", "px", "ordre"],
                              ascending=[True, True, False, True, True])
    table["numero"] = table.groupby(["commune", "rang_section"]).cumcount() + 1
    table = table.sort_values("ordre")
    if table["numero"].max() > 9999:
        raise ErreurDonnees("Démonstration : plus de 9 999 parcelles dans une section (réduisez cote_section_m).",
                            "parcelles", "numero")
    rang = table["rang_section"].to_numpy()
    section = pd.Series(_LETTRES[rang // 26]) + pd.Series(_LETTRES[rang % 26])
    numero = table["numero"].astype(str).reset_index(drop=True)
    commune = pd.Series(codes_insee[rang_commune])
    resultat = pd.DataFrame({
        "id": composer_id_parcelle(commune, pp["prefixe"], section, numero),
        "commune": commune,
        "prefixe": pp["prefixe"],
        "section": section,
        "numero": numero,
        "contenance": np.round(shapely.area(geometries)).astype(np.int64),
    })
    return resultat


def generer_parcelles(decoupe: dict, communes_terre: np.ndarray, codes_insee: np.ndarray, emprise: tuple,
                      parametres: dict) -> dict:
    """Parcelles : cellules découpées par les communes, numérotées façon Etalab (Lambert-93)."""
    p = decoupe["parcelles"]
    boites = shapely.box(p["x0"], p["y0"], p["x1"], p["y1"])
    geoms, source, rang, entiere = repartir_par_commune(boites, communes_terre,
                                                        parametres["parcellaire"]["surface_min_morceau_m2"])
    attributs = numeroter_parcelles(geoms, rang, codes_insee, emprise, parametres)
    return {
        "geometrie": geoms, "commune": rang, "entiere": entiere, "attributs": attributs,
        "x0": p["x0"][source], "y0": p["y0"][source], "x1": p["x1"][source], "y1": p["y1"][source],
        "u": p["u"][source], "ilot": p["ilot"][source], "vocation": p["vocation"][source],
    }
