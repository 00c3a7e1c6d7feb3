"""Occupation du sol de démonstration (OCS GE), cohérente avec le parcellaire."""

from __future__ import annotations

import numpy as np
import shapely

from donnees.geometrie import extraire_polygones, repartir_par_commune


def _interpoler(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """a + f (b − a), exact aux bornes (f = 0 → a, f = 1 → b) pour des bords communs identiques."""
    return np.where(f <= 0, a, np.where(f >= 1, b, a + f * (b - a)))


def _boites_relatives(emprise: tuple, long_x: np.ndarray, inverse: np.ndarray, s0, s1, t0, t1) -> np.ndarray:
    """Rectangles donnés en fractions (s le long du grand côté, t en travers) de chaque emprise."""
    x0, y0, x1, y1 = emprise
    s0, s1, t0, t1 = (np.broadcast_to(np.asarray(v, dtype=float), x0.shape) for v in (s0, s1, t0, t1))
    debut = np.where(inverse, 1 - s1, s0)
    fin = np.where(inverse, 1 - s0, s1)
    bx0 = np.where(long_x, _interpoler(x0, x1, debut), _interpoler(x0, x1, t0))
    bx1 = np.where(long_x, _interpoler(x0, x1, fin), _interpoler(x0, x1, t1))
    by0 = np.where(long_x, _interpoler(y0, y1, t0), _interpoler(y0, y1, debut))
    by1 = np.where(long_x, _interpoler(y0, y1, t1), _interpoler(y0, y1, fin))
    return shapely.box(bx0, by0, bx1, by1)


def _tirer_categories(probabilites: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tirage d'une catégorie par ligne selon une matrice de probabilités (lignes normalisées)."""
    cumul = np.cumsum(probabilites / probabilites.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((cumul < rng.random(len(probabilites))[:, None]).sum(axis=1), probabilites.shape[1] - 1)


def _champ_relief(x: np.ndarray, y: np.ndarray, longueur_onde: float, contraste: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Champ lisse dans ]0, 1[ (somme d'ondes planes, sigmoïde) : 0 plaine, 1 colline."""
    champ = np.zeros(len(x))
    for _ in range(4):
        angle, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        onde = longueur_onde * rng.uniform(0.7, 1.4)
        champ += np.cos(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / onde + phase)
    return 1 / (1 + np.exp(-contraste * champ))


def generer_occupation(parc: dict, decoupe: dict, communes_terre: np.ndarray, parametres: dict,
                       rng: np.random.Generator) -> tuple[dict, dict]:
    """Occupation du sol OCS GE cohérente avec le parcellaire.

    Parcelles urbaines : bâti, cour ou allée imperméable, jardin ; emprises d'équipement : bâti, espace
    minéral, un peu de végétal ; parcelles rurales : vignes, garrigue, bois, friches (regroupés par un
    champ lisse et par îlot), quelques mas ; voies : espace entre îlots. Rien dans l'étang (hors des communes).
    Renvoie les polygones et, pour les emprises d'équipement, leur disposition (pour les opérations).
    """
    pp, po, pe = parametres["parcellaire"], parametres["occupation"], parametres["equipements"]
    surface_min = pp["surface_min_occupation_m2"]
    n = len(parc["geometrie"])
    emprise = (parc["x0"], parc["y0"], parc["x1"], parc["y1"])
    long_x = (parc["x1"] - parc["x0"]) >= (parc["y1"] - parc["y0"])
    inverse = rng.random(n) < 0.5
    u, vocation, entiere = parc["u"], parc["vocation"], parc["entiere"]
    equipement = vocation >= 0
    noyau = ~equipement & (u < pp["distance_relative_noyau"])
    couronne = ~equipement & ~noyau & (u < pp["distance_relative_rurale"])
    rural = ~equipement & ~noyau & ~couronne
    morceaux: list[tuple] = []  # (géométries, rang parcelle, code_cs, code_us)

    def ajouter(geoms, rangs, code_cs, code_us=None):
        geoms = np.asarray(geoms, dtype=object)
        rangs = np.asarray(rangs)
        decoupees = ~entiere[rangs]
        if decoupees.any():  # parcelles découpées par une limite : on recoupe par leur contour réel
            geoms = geoms.copy()
            geoms[decoupees] = extraire_polygones(
                shapely.intersection(geoms[decoupees], parc["geometrie"][rangs[decoupees]]))
        garder = shapely.area(geoms) >= surface_min
        cs = np.broadcast_to(np.asarray(code_cs, dtype=object), geoms.shape)[garder]
        us = np.broadcast_to(np.asarray(code_us, dtype=object), geoms.shape)[garder]
        morceaux.append((geoms[garder], rangs[garder], cs, us))

    def sous_emprise(rangs):
        return tuple(v[rangs] for v in emprise), long_x[rangs], inverse[rangs]

    # --- parcelles urbaines (noyau dense et couronne pavillonnaire)
    urb = np.flatnonzero(noyau | couronne)
    est_noyau = noyau[urb]
    k = len(urb)
    mineral = np.where(est_noyau, rng.uniform(*po["noyau_part_minerale"], k),
                       rng.uniform(*po["couronne_part_minerale"], k))
    bati = np.where(est_noyau, rng.uniform(*po["noyau_part_bati"], k), rng.uniform(*po["couronne_part_bati"], k))
    largeur = np.where(est_noyau, 1.0, rng.uniform(*po["couronne_largeur_bati"], k))
    longueur = np.minimum(bati / largeur, 1 - mineral)
    libre = 1 - mineral - longueur
    longueur = np.where(libre < po["part_jardin_min"], 1 - mineral, longueur)
    libre = 1 - mineral - longueur
    debut = mineral + np.where(est_noyau, 0.0, libre * rng.uniform(*po["couronne_recul_bati"], k))
    t0 = np.where(est_noyau, 0.0, (1 - largeur) * rng.uniform(*po["couronne_position_laterale_bati"], k))
    e, lx, inv = sous_emprise(urb)
    boite = shapely.box(*e)
    b_mineral = _boites_relatives(e, lx, inv, 0.0, mineral, 0.0, 1.0)
    b_bati = _boites_relatives(e, lx, inv, debut, debut + longueur, t0, t0 + largeur)
    jardin = extraire_polygones(shapely.difference(shapely.difference(boite, b_mineral), b_bati))
    arbore = rng.random(k) < po["part_jardins_arbores"]
    ajouter(b_bati, urb, po["code_cs_bati"])
    ajouter(b_mineral, urb, po["code_cs_mineral"])
    ajouter(jardin, urb, np.where(arbore, po["code_cs_jardin_arbore"], po["code_cs_jardin"]))

    # --- emprises d'équipement : bâti en bout, minéral au milieu, végétal à l'autre bout
    eq = np.flatnonzero(equipement)
    voc = pe["vocations"]
    noms = decoupe["noms_vocations"]
    bornes_bati = np.array([voc[v]["part_bati"] for v in noms])[vocation[eq]]
    bornes_veg = np.array([voc[v]["part_vegetale"] for v in noms])[vocation[eq]]
    part_bati = rng.uniform(bornes_bati[:, 0], bornes_bati[:, 1])
    part_veg = rng.uniform(bornes_veg[:, 0], bornes_veg[:, 1])
    e, lx, inv = sous_emprise(eq)
    ajouter(_boites_relatives(e, lx, inv, 0.0, part_bati, 0.0, 1.0), eq, po["code_cs_bati"])
    ajouter(_boites_relatives(e, lx, inv, part_bati, 1 - part_veg, 0.0, 1.0), eq, po["code_cs_mineral"])
    ajouter(_boites_relatives(e, lx, inv, 1 - part_veg, 1.0, 0.0, 1.0), eq,
            np.where(rng.random(len(eq)) < po["part_equipements_arbores"], po["code_cs_jardin_arbore"],
                     po["code_cs_jardin"]))
    disposition = {"rang": eq, "part_bati": part_bati, "part_vegetale": part_veg,
                   "long_x": long_x[eq], "inverse": inverse[eq]}

    # --- parcelles rurales : couvert tiré selon le relief et l'îlot ; quelques mas
    ru = np.flatnonzero(rural)
    classes = po["rural_classes"]
    noms_classes = list(classes)
    plaine = np.array([classes[c]["poids_plaine"] for c in noms_classes])
    colline = np.array([classes[c]["poids_colline"] for c in noms_classes])
    ilots = decoupe["ilots"]
    ix = (ilots["x0"] + ilots["x1"]) / 2
    iy = (ilots["y0"] + ilots["y1"]) / 2
    relief_ilot = _champ_relief(ix, iy, po["relief_longueur_onde_m"], po["relief_contraste"],
                                np.random.default_rng(rng.integers(2**32)))
    classe_ilot = _tirer_categories(np.outer(1 - relief_ilot, plaine) + np.outer(relief_ilot, colline), rng)
    relief = relief_ilot[parc["ilot"][ru]]
    classe = _tirer_categories(np.outer(1 - relief, plaine) + np.outer(relief, colline), rng)
    classe = np.where(rng.random(len(ru)) < po["probabilite_meme_classe_ilot"], classe_ilot[parc["ilot"][ru]], classe)
    code_cs = np.array([classes[c]["code_cs"] for c in noms_classes], dtype=object)[classe]
    code_us = np.array([classes[c]["code_us"] for c in noms_classes], dtype=object)[classe]
    e, lx, inv = sous_emprise(ru)
    cote = np.sqrt(rng.uniform(*po["surface_mas_m2"], len(ru)))
    longueur_p = np.where(lx, e[2] - e[0], e[3] - e[1])
    largeur_p = np.where(lx, e[3] - e[1], e[2] - e[0])
    mas = (entiere[ru] & (rng.random(len(ru)) < po["probabilite_mas"])
           & (longueur_p > 6 * cote) & (largeur_p > 3 * cote))
    reste = parc["geometrie"][ru].copy()
    if mas.any():
        m = np.flatnonzero(mas)
        em = tuple(v[m] for v in e)
        s_bati, t_bati = cote[m] / longueur_p[m], cote[m] / largeur_p[m]
        ajouter(_boites_relatives(em, lx[m], inv[m], 0.0, s_bati, 0.0, t_bati), ru[m], po["code_cs_bati"])
        ajouter(_boites_relatives(em, lx[m], inv[m], s_bati, 2 * s_bati, 0.0, t_bati), ru[m], po["code_cs_mineral"])
        cour = _boites_relatives(em, lx[m], inv[m], 0.0, 2 * s_bati, 0.0, t_bati)
        reste[m] = extraire_polygones(shapely.difference(reste[m], cour))
    ajouter(reste, ru, code_cs, code_us)

    geoms = np.concatenate([m[0] for m in morceaux])
    rang_parcelle = np.concatenate([m[1] for m in morceaux])
    cs = np.concatenate([m[2] for m in morceaux])
    us = np.concatenate([m[3] for m in morceaux])
    rang_commune = parc["commune"][rang_parcelle]

    # --- voies : anneau entre chaque îlot et son retrait, découpé par les communes
    anneaux = shapely.difference(
        shapely.box(ilots["x0"], ilots["y0"], ilots["x1"], ilots["y1"]),
        shapely.box(ilots["x0"] + ilots["demi"], ilots["y0"] + ilots["demi"],
                    ilots["x1"] - ilots["demi"], ilots["y1"] - ilots["demi"]))
    voies, source, rang_voie, _ = repartir_par_commune(anneaux, communes_terre, pp["surface_min_morceau_m2"])
    urbaine = ilots["u"][source] < pp["distance_relative_rurale"]
    cs_voie = np.where(urbaine, po["code_cs_mineral"], po["code_cs_chemin_rural"]).astype(object)

    occupation = {
        "geometrie": np.concatenate([geoms, voies]),
        "commune": np.concatenate([rang_commune, rang_voie]),
        "code_cs": np.concatenate([cs, cs_voie]),
        "code_us": np.concatenate([us, np.full(len(voies), None, dtype=object)]),
    }
    return occupation, disposition
