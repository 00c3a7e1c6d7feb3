"""Opérations de démonstration : emprises, zones, coûts, aides, statuts, dates et textes."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import shapely

from donnees.demo.parametres import lire_textes
from donnees.format import formater_nombre


def _simplifier_texte(texte: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")


def _de(nom: str) -> str:
    """« de Sète », « d'Agde »."""
    return f"d'{nom}" if unicodedata.normalize("NFKD", nom[0])[0].upper() in "AEIOUYH" else f"de {nom}"


def _lister(elements: list[str]) -> str:
    return elements[0] if len(elements) == 1 else ", ".join(elements[:-1]) + " et " + elements[-1]


def repartir_operations(population: np.ndarray, disponibles: np.ndarray, total: int, minimum: int,
                        exposant: float) -> np.ndarray:
    """Nombre d'opérations par commune : un minimum chacune, le reste selon la population (plus forts restes),
    sans dépasser les emprises disponibles."""
    nombre = np.minimum(minimum, disponibles)
    poids = population.astype(float) ** exposant
    for _ in range(50):
        manque = total - int(nombre.sum())
        place = disponibles - nombre
        if manque <= 0 or not (place > 0).any():
            break
        w = np.where(place > 0, poids, 0.0)
        voulu = manque * w / w.sum()
        ajout = np.floor(voulu).astype(np.int64)
        restes = manque - int(ajout.sum())
        if restes > 0:
            ajout[np.argsort(-(voulu - ajout), kind="stable")[:restes]] += 1
        nombre += np.minimum(ajout, place)
    return nombre


def _decouper_zones(x0: float, y0: float, x1: float, y1: float, aire: float, nb: int, espace: float,
                    poids_relatifs: list[float], rng: np.random.Generator) -> list[shapely.Polygon]:
    """Rectangle minéral → ``nb`` zones rectangulaires disjointes couvrant environ ``aire`` m²."""
    w, h = x1 - x0, y1 - y0
    phi = min(1.0, aire / (w * h))
    if w >= h:
        debut = x0 + rng.uniform(0, w * (1 - phi))
        x0, x1 = debut, debut + w * phi
    else:
        debut = y0 + rng.uniform(0, h * (1 - phi))
        y0, y1 = debut, debut + h * phi
    w, h = x1 - x0, y1 - y0
    poids = rng.uniform(*poids_relatifs, nb)
    coupes = np.concatenate([[0.0], np.cumsum(poids) / poids.sum()])
    zones = []
    for i in range(nb):
        a = coupes[i] + (espace / 2 / max(w, h) if i > 0 else 0.0)
        b = coupes[i + 1] - (espace / 2 / max(w, h) if i < nb - 1 else 0.0)
        if w >= h:
            zones.append(shapely.box(x0 + a * w, y0, x0 + b * w, y1))
        else:
            zones.append(shapely.box(x0, y0 + a * h, x1, y0 + b * h))
    return zones


def _rectangle_mineral(parc: dict, disposition: dict, j: int, marge: float) -> tuple[float, float, float, float]:
    """Rectangle de l'espace minéral d'une emprise d'équipement (rang j dans la disposition), en retrait."""
    r = disposition["rang"][j]
    x0, y0, x1, y1 = (float(parc[k][r]) for k in ("x0", "y0", "x1", "y1"))
    s0, s1 = float(disposition["part_bati"][j]), 1.0 - float(disposition["part_vegetale"][j])
    if disposition["inverse"][j]:
        s0, s1 = 1 - s1, 1 - s0
    if disposition["long_x"][j]:
        x0, x1 = x0 + s0 * (x1 - x0), x0 + s1 * (x1 - x0)
    else:
        y0, y1 = y0 + s0 * (y1 - y0), y0 + s1 * (y1 - y0)
    return x0 + marge, y0 + marge, x1 - marge, y1 - marge


def _tirer_poids(options: dict, rng: np.random.Generator, nombre: int, remise: bool = False) -> list[str]:
    codes = list(options)
    poids = np.array([options[c] for c in codes], dtype=float)
    return [codes[i] for i in rng.choice(len(codes), size=nombre, replace=remise or nombre > len(codes),
                                         p=poids / poids.sum())]


def _tirer_dict(options: dict, rng: np.random.Generator) -> str:
    return _tirer_poids(options, rng, 1)[0]


def _date_aleatoire(debut: date, fin: date, rng: np.random.Generator) -> date:
    jours = max(0, (fin - debut).days)
    return debut + timedelta(days=int(rng.integers(0, jours + 1)))


def _horodatage(jour: date, rng: np.random.Generator) -> datetime:
    return datetime(jour.year, jour.month, jour.day, int(rng.integers(8, 18)), int(rng.integers(0, 60)),
                    int(rng.integers(0, 60)))


def _maitre_ouvrage(moa: str, commune: dict, epci: str | None, valeurs: dict, proba_epci: float,
                    rng: np.random.Generator) -> tuple[str, bool]:
    """Maître d'ouvrage et indicateur « commune » (pour le contact)."""
    ville = ("Ville " if commune["population"] >= 5000 else "Commune ") + _de(commune["nom"])
    if moa == "commune":
        return ville, True
    if moa == "commune_ou_epci":
        if epci and rng.random() < proba_epci:
            return epci, False
        return ville, True
    return moa.format(**valeurs), False


def generer_operations(parc: dict, disposition: dict, communes: pd.DataFrame, noms_vocations: list[str],
                       parametres: dict, taille: dict, rng: np.random.Generator) -> tuple[list[dict], list[list]]:
    """Opérations de démonstration sur les emprises d'équipement (zones en Lambert-93 à reprojeter).

    Renvoie les opérations (dictionnaires du contrat du magasin, zones en Lambert-93) et, pour chacune,
    la liste des zones (géométrie Lambert-93, avant, après) pour les calculs de surface.
    """
    po = parametres["operations"]
    textes = lire_textes()
    reference = date.fromisoformat(po["date_reference"])
    premiere, derniere = po["annees"]
    annees = np.arange(premiere, derniere + 1)
    poids_annees = np.asarray(po["poids_annees"], dtype=float)
    poids_annees /= poids_annees.sum()
    epci_de = {code: nom for nom, codes in textes["intercommunalites"].items() for code in codes}
    codes_insee = communes["code_insee"].to_numpy()
    ids = parc["attributs"]["id"].to_numpy()

    # emprises candidates : parcelles d'équipement entières (rectangulaires)
    j_candidats = np.flatnonzero(parc["entiere"][disposition["rang"]])
    rang_cand = disposition["rang"][j_candidats]
    commune_cand = parc["commune"][rang_cand]
    disponibles = np.bincount(commune_cand, minlength=len(communes))
    nombre = repartir_operations(communes["population"].to_numpy(), disponibles, int(taille["nb_operations"]),
                                 int(taille["minimum_par_commune"]), po["exposant_population"])
    # emprises d'un même îlot, pour les opérations sur deux parcelles
    ilot_cand = parc["ilot"][rang_cand]
    par_ilot: dict[int, list[int]] = {}
    for j, i in zip(j_candidats.tolist(), ilot_cand.tolist()):
        par_ilot.setdefault(i, []).append(j)

    operations, zones_l93 = [], []
    utilisees: set[int] = set()
    for c, code in enumerate(codes_insee):
        commune = communes.iloc[c].to_dict()
        candidats = rng.permutation(j_candidats[commune_cand == c]).tolist()
        par_type = {t: [j for j in candidats if noms_vocations[int(parc["vocation"][disposition["rang"][j]])] == t]
                    for t in noms_vocations}
        noms_pris: set[str] = set()
        voulus = _tirer_poids(po["parts_types"], rng, int(nombre[c]), remise=True) if nombre[c] else []
        for rang_op, voulu in enumerate(voulus):
            j = next((j for j in par_type.get(voulu, []) if j not in utilisees), None)
            if j is None:
                j = next((j for j in candidats if j not in utilisees), None)
            if j is None:
                break
            utilisees.add(j)
            groupe = [j]
            freres = [f for f in par_ilot[int(parc["ilot"][disposition["rang"][j]])] if f not in utilisees]
            libres = sum(f not in utilisees for f in candidats)
            if freres and rng.random() < po["probabilite_deux_parcelles"] and libres > len(voulus) - rang_op - 1:
                groupe.append(freres[0])
                utilisees.add(freres[0])
            type_site = noms_vocations[int(parc["vocation"][disposition["rang"][j]])]
            operation, zones = _composer_operation(parc, disposition, groupe, type_site, commune,
                                                   epci_de.get(code), noms_pris, annees, poids_annees,
                                                   reference, ids, parametres, textes, rng)
            operations.append(operation)
            zones_l93.append(zones)
    ordre = sorted(range(len(operations)), key=lambda i: (operations[i]["cree_le"], operations[i]["code_insee"],
                                                           operations[i]["nom"]))
    return [operations[i] for i in ordre], [zones_l93[i] for i in ordre]


def _composer_operation(parc, disposition, groupe, type_site, commune, epci, noms_pris, annees, poids_annees,
                        reference, ids, parametres, textes, rng) -> tuple[dict, list]:
    """Une opération complète : nom, maître d'ouvrage, zones, coûts, aides, statut, dates, textes."""
    po = parametres["operations"]
    # --- nom (unique dans la commune) et maître d'ouvrage
    modeles = [m for m in textes["modeles_noms"][type_site] if commune["littorale"] or not m.get("littoral")]
    for _essai in range(12):
        modele = modeles[int(rng.integers(len(modeles)))]
        valeurs = {"personne": textes["personnes"][int(rng.integers(len(textes["personnes"])))],
                   "lieu": textes["lieux"][int(rng.integers(len(textes["lieux"])))],
                   "voie": textes["voies"][int(rng.integers(len(textes["voies"])))],
                   "residence": textes["residences"][int(rng.integers(len(textes["residences"])))],
                   "commune": commune["nom"]}
        nom = modele["modele"].format(**valeurs)
        if nom not in noms_pris:
            break
    base, tranche = nom, 2
    while nom in noms_pris:
        nom, tranche = f"{base} (tranche {tranche})", tranche + 1
    noms_pris.add(nom)
    maitre_ouvrage, par_commune = _maitre_ouvrage(modele["moa"], commune, epci, valeurs,
                                                  po["probabilite_moa_intercommunale"], rng)

    # --- zones
    lo, hi = po["surface_max_m2"][type_site]
    rectangles = [_rectangle_mineral(parc, disposition, j, po["marge_zone_m"]) for j in groupe]
    aires = np.array([max(0.0, (r[2] - r[0]) * (r[3] - r[1])) for r in rectangles])
    cible = rng.uniform(*po["part_desimpermeabilisee"]) * aires.sum()
    cible = min(hi, max(cible, min(lo, 0.95 * aires.sum())))
    nb_zones = max(len(groupe), int(rng.integers(po["nb_zones"][0], po["nb_zones"][1] + 1)))
    repartition = [1] * len(groupe)
    for _ in range(nb_zones - len(groupe)):
        repartition[int(rng.integers(len(groupe)))] += 1
    avant = "beton" if rng.random() < po["part_beton_avant"] else "enrobe"
    apres = _tirer_poids(po["revetements_apres"][type_site], rng, nb_zones)
    if nb_zones >= 3 and rng.random() < po["probabilite_zone_conservee"]:
        apres[int(rng.integers(nb_zones))] = avant
    geometries = []
    for rect, aire, k in zip(rectangles, aires, repartition):
        geometries += _decouper_zones(*rect, cible * aire / aires.sum(), k, po["espace_entre_zones_m"],
                                      po["poids_relatifs_zones"], rng)
    zones = [(g, avant, a) for g, a in zip(geometries, apres)]
    surfaces = np.array([g.area for g in geometries])
    surface_totale = float(surfaces.sum())
    gagnee = float(sum(s for s, a in zip(surfaces, apres) if a != avant))

    # --- année, statut, dates
    annee = int(rng.choice(annees, p=poids_annees))
    if annee < reference.year - 1:
        statut = "realisee"
    elif annee == reference.year - 1:
        statut = _tirer_dict(po["statuts_annee_precedente"], rng)
    else:
        statut = _tirer_dict(po["statuts_annee_courante"], rng)
    debut_annee = date(annee, 1, 1)
    if statut == "realisee":
        fin = _date_aleatoire(debut_annee, min(date(annee, 12, 31), reference - timedelta(days=3)), rng)
        delai = int(rng.integers(po["delai_saisie_jours"][0], po["delai_saisie_jours"][1] + 1))
        saisie = min(fin + timedelta(days=delai), reference)
    else:
        bornes = po["delai_fin_programmee_jours"] if statut == "programmee" else po["delai_fin_en_travaux_jours"]
        fin = reference + timedelta(days=int(rng.integers(bornes[0], bornes[1] + 1)))
        saisie = _date_aleatoire(debut_annee, min(date(annee, 12, 31), reference), rng)
    cree_le = _horodatage(saisie, rng)
    validation = _tirer_dict(po["validations_realisees"] if statut == "realisee" else po["validations_en_cours"], rng)
    commentaire = (textes["commentaires_correction"][int(rng.integers(len(textes["commentaires_correction"])))]
                   if validation == "a_corriger" else None)

    # --- coûts et financements
    cout = round(rng.uniform(*po["cout_m2_eur"][type_site]) * surface_totale, -2)
    financements, total = [], 0.0
    prive = type_site == "prive"
    for financeur in po["financeurs"]:
        if rng.random() < (financeur["probabilite_prive"] if prive else financeur["probabilite"]):
            financements.append([financeur["nom"], rng.uniform(*financeur["taux"]) * cout])
    plafond = po["plafond_aides"] * cout
    total = sum(f[1] for f in financements)
    echelle = min(1.0, plafond / total) if total > 0 else 1.0
    financements = [{"financeur": f, "montant_eur": float(np.floor(m * echelle / 10) * 10)} for f, m in financements]

    # --- eau, arbres
    deconnexion = bool(rng.random() < po["probabilite_deconnexion"])
    permeables = sum(s for s, a in zip(surfaces, apres) if a != avant)
    volume = None
    if (deconnexion or "noue" in apres) and rng.random() < po["probabilite_stockage"]:
        volume = float(round(permeables * rng.uniform(*po["profondeur_stockage_m"])))
    arbres = sum(s / rng.uniform(*po["m2_par_arbre"]) for s, a in zip(surfaces, apres) if a == "arbres")
    arbres += sum(int(rng.integers(po["arbres_autres_zones"][0], po["arbres_autres_zones"][1] + 1))
                  for a in apres if a in ("pelouse", "massif", "noue", "paillage"))
    arbres = int(round(arbres))

    # --- textes
    libelles = textes["libelles_revetements_apres"]
    nouveaux = [libelles[a] for a in dict.fromkeys(apres) if a != avant]
    description = (f"Désimperméabilisation de {formater_nombre(gagnee)} m² "
                   f"{textes['libelles_revetements_avant'][avant]}, remplacés par {_lister(nouveaux)}. "
                   f"{textes['descriptions'][type_site]}")
    difficulte = textes["difficultes"][int(rng.integers(len(textes["difficultes"])))]
    conseil = textes["conseils"][int(rng.integers(len(textes["conseils"])))]
    retour = f"Difficulté : {difficulte}. Conseil : {conseil}."
    role = textes["contacts"][int(rng.integers(len(textes["contacts"])))]
    if par_commune:
        domaine = textes["domaine_contact"].format(slug=_simplifier_texte(commune["nom"]))
    elif type_site == "prive":
        role, domaine = textes["contact_prive"], textes["domaine_contact_autre"].format(
            slug=_simplifier_texte(nom)[:40].strip("-"))
    else:
        domaine = textes["domaine_contact_autre"].format(slug=_simplifier_texte(maitre_ouvrage)[:40].strip("-"))
    operation = {
        "code_insee": commune["code_insee"], "nom": nom, "type_site": type_site, "statut": statut,
        "validation": validation, "commentaire_validation": commentaire, "date_fin_travaux": fin,
        "maitre_ouvrage": maitre_ouvrage, "description": description, "retour_experience": retour,
        "contact": f"{role}@{domaine}", "cout_ht_eur": float(cout), "arbres_plantes": arbres,
        "deconnexion_reseau": deconnexion, "volume_stockage_m3": volume,
        "parcelles": [str(ids[disposition["rang"][j]]) for j in groupe],
        "surface_declaree_m2": None, "localisation_approximative": False, "source": None,
        "zones": [], "financements": financements, "photos": [], "cree_le": cree_le,
        "cree_par": parametres["territoire"]["auteur"],
    }
    return operation, zones
