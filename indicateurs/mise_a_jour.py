"""Mise à jour incrémentale des grilles chaleur et eau quand les zones des opérations changent.

Le résultat complet (:func:`indicateurs.chaleur.calculer_chaleur_territoire`) garde un état : grilles de
revêtement des scénarios, GA et CC_parc (double précision), convolutions des masques des cellules valides,
paires (opération, cellule). Après une écriture, on compare les zones (par ``zone_id``) et on ne recalcule
que ce qui peut avoir changé ; le résultat est celui du calcul complet aux arrondis de la FFT près (~1e-12 °C).

Portées (en cellules, ``round(distance / résolution)`` comme InVEST) : disque de GA ``r_d = d_cool`` ;
noyau des parcs ``r_p = 5·d_cool`` (coupure) ; brassage ``r_b = 5·r_mix``. Démonstration de l'exactitude :

1. Revêtements : une cellule ne change que si le centre d'une zone ajoutée, retirée ou modifiée (ancienne
   ou nouvelle géométrie) la couvre ; on regrave donc la fenêtre F de ces géométries avec *toutes* les zones
   qui la touchent, dans l'ordre du calcul complet (les suivantes recouvrent), sur la grille entière : même
   rastérisation, mêmes valeurs. Hors de F, les zones qui couvrent une cellule et leur ordre sont inchangés
   (on vérifie que l'ordre des zones inchangées est conservé, sinon calcul complet). Soit B l'emprise des
   cellules qui changent vraiment.
2. CC et « cellule verte » sont des fonctions de la cellule : elles ne changent que dans B.
3. GA et CC_parc sont des convolutions normalisées conv(s·valide)/conv(valide)·ΣK. Le masque des cellules
   valides ne dépend pas des zones (les zones ne gravent pas hors territoire), son dénominateur est donc
   celui du calcul complet (gardé). Le numérateur est linéaire : conv(s') = conv(s) + conv(s' − s), et
   s' − s est nul hors de B, donc sa convolution est nulle hors de B ⊕ r (r = r_d ou r_p) et se calcule
   exactement sur la fenêtre B ⊕ r seule (convolution « pleine », sans bord artificiel).
4. HM ne dépend que de CC, GA et CC_parc de la cellule : il ne change que dans H = B ⊕ max(r_d, r_p).
5. T_air = T_ref + conv((1 − HM)·UHI_max)/conv(valide)·ΣK : même argument linéaire, ΔT_air est nul hors de
   H ⊕ r_b et s'obtient exactement par la convolution pleine de ΔHM sur H.

Portée totale de T_air : r_p + r_b. Un recalcul *non linéaire* sur une fenêtre (tout refaire dans une
fenêtre découpée) devrait calculer sur B ⊕ 2·(r_p + r_b) et ne recopier que B ⊕ (r_p + r_b) : une cellule
de la zone recopiée a tout son voisinage d'influence dans la fenêtre calculée, y compris pour le masque des
cellules valides. L'approche linéaire ci-dessus évite ce double halo (et le recalcul des masques).

Grandeurs globales : ET0 est uniforme (ET0_max = ET0), T_ref et UHI_max sont des paramètres, le masque des
cellules valides vient de l'occupation du sol ; tout cela entre dans une clé « globale » (occupation,
paramètres, scénarios, tables de revêtements, version du modèle) : si elle change, calcul complet.

Eau : modèle par cellule, les tables par commune viennent des comptes (commune × revêtement) ; on retranche
et on ajoute les cellules qui changent (entiers : exact).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import fft as sfft

from indicateurs.chaleur import (
    ChaleurTerritoire,
    ModeleChaleur,
    ParametresChaleur,
    agreger_chaleur_communes,
    calculer_cle_chaleur,
    calculer_temperature_sans_brassage,
    indexer_cellules_operations,
    tabuler_chaleur_operations,
    COLONNES_OPERATIONS,
)
from indicateurs.grille import (
    INDICE_HORS_TERRITOIRE,
    Grille,
    OccupationGrille,
    choisir_revetements_scenario,
    indexer_revetements,
    projeter_lambert93,
    rasteriser_valeurs,
)

CHAMPS_ZONE = ("operation_id", "code_insee", "statut", "revetement_avant", "revetement_apres")

Fenetre = tuple[int, int, int, int]  # (ligne début, ligne fin, colonne début, colonne fin), fins exclues


@dataclass
class ChangementZones:
    """Zones ajoutées, retirées ou modifiées (identifiants), opérations touchées, géométries en cause
    (anciennes et nouvelles, Lambert-93)."""

    zones: np.ndarray
    operations: np.ndarray
    geometries: np.ndarray


def empreinter_zones(zones: pd.DataFrame) -> dict:
    """Champs qui entrent dans les modèles (géométrie en WKB), en octets, par ``zone_id``."""
    champs = [zones[c].astype(str).to_numpy() if c in zones else np.full(len(zones), "") for c in CHAMPS_ZONE]
    wkb = shapely.to_wkb(zones.geometry.values, output_dimension=2)
    return {zone: "|".join(valeurs).encode("utf-8") + b"|" + geometrie
            for zone, *valeurs, geometrie in zip(zones["zone_id"].tolist(), *champs, wkb)}


def comparer_zones(anciennes, nouvelles) -> ChangementZones | None:
    """Différence entre deux lectures des zones ; ``None`` si elle ne se réduit pas à des zones changées
    (pas de ``zone_id`` unique, système de coordonnées différent, ordre des zones inchangées modifié)."""
    for zones in (anciennes, nouvelles):
        if "zone_id" not in zones or zones["zone_id"].duplicated().any():
            return None
    if len(anciennes) and len(nouvelles) and anciennes.crs != nouvelles.crs:
        return None
    avant, apres = empreinter_zones(anciennes), empreinter_zones(nouvelles)
    inchangees = {zone for zone, empreinte in avant.items() if apres.get(zone) == empreinte}
    if [z for z in avant if z in inchangees] != [z for z in apres if z in inchangees]:
        return None
    zones, operations, geometries = [], [], []
    for table in (anciennes, nouvelles):
        changee = ~table["zone_id"].isin(inchangees).to_numpy()
        zones.append(table["zone_id"].to_numpy()[changee])
        operations.append(table["operation_id"].to_numpy()[changee])
        if changee.any():
            serie = gpd.GeoSeries(table.geometry.values[changee], crs=table.crs)
            geometries.append(projeter_lambert93(gpd.GeoDataFrame(geometry=serie)).geometry.values)
    return ChangementZones(np.union1d(*zones), np.union1d(*operations),
                           np.concatenate(geometries) if geometries else np.empty(0, dtype=object))


def fenetre_geometries(geometries: np.ndarray, grille: Grille, marge: int = 1) -> Fenetre | None:
    """Fenêtre de cellules couvrant l'emprise des géométries (Lambert-93) plus ``marge`` cellules, bornée
    à la grille ; ``None`` si elle est vide."""
    geometries = geometries[~(shapely.is_missing(geometries) | shapely.is_empty(geometries))]
    if not len(geometries):
        return None
    x0, y0, x1, y1 = shapely.total_bounds(geometries)
    r = grille.resolution
    c0 = max(int(np.floor((x0 - grille.x_min) / r)) - marge, 0)
    c1 = min(int(np.ceil((x1 - grille.x_min) / r)) + marge, grille.largeur)
    l0 = max(int(np.floor((grille.y_max - y1) / r)) - marge, 0)
    l1 = min(int(np.ceil((grille.y_max - y0) / r)) + marge, grille.hauteur)
    return (l0, l1, c0, c1) if l1 > l0 and c1 > c0 else None


def tranche(fenetre: Fenetre) -> tuple[slice, slice]:
    return slice(fenetre[0], fenetre[1]), slice(fenetre[2], fenetre[3])


def elargir(fenetre: Fenetre, rayon: int, forme: tuple[int, int]) -> Fenetre:
    """Fenêtre élargie de ``rayon`` cellules de chaque côté, bornée à la grille."""
    l0, l1, c0, c1 = fenetre
    return (max(l0 - rayon, 0), min(l1 + rayon, forme[0]), max(c0 - rayon, 0), min(c1 + rayon, forme[1]))


def graver_fenetre(occupation: OccupationGrille, zones_l93, codes, fenetre: Fenetre) -> np.ndarray:
    """Revêtements de la fenêtre dans un scénario : occupation, puis toutes les zones qui touchent la
    fenêtre, dans leur ordre, gravées sur la grille entière (même rastérisation que le calcul complet)."""
    grille = occupation.grille
    x0 = grille.x_min + fenetre[2] * grille.resolution
    y1 = grille.y_max - fenetre[0] * grille.resolution
    boite = shapely.box(x0, grille.y_max - fenetre[1] * grille.resolution,
                        grille.x_min + fenetre[3] * grille.resolution, y1)
    touchent = shapely.intersects(zones_l93.geometry.values, boite) if len(zones_l93) else np.zeros(0, bool)
    sortie = occupation.revetement.copy()
    if touchent.any():
        rasteriser_valeurs(zones_l93.geometry.values[touchent], indexer_revetements(np.asarray(codes)[touchent]),
                           grille, sortie=sortie)
    bloc = sortie[tranche(fenetre)]
    bloc[occupation.revetement[tranche(fenetre)] == INDICE_HORS_TERRITOIRE] = INDICE_HORS_TERRITOIRE
    return bloc


def emprise_changements(difference: np.ndarray, fenetre: Fenetre) -> Fenetre | None:
    """Plus petite fenêtre (coordonnées de la grille) contenant les cellules ``True`` d'un bloc."""
    lignes, colonnes = np.nonzero(difference)
    if not lignes.size:
        return None
    return (fenetre[0] + int(lignes.min()), fenetre[0] + int(lignes.max()) + 1,
            fenetre[2] + int(colonnes.min()), fenetre[2] + int(colonnes.max()) + 1)


def convoluer_delta(delta: np.ndarray, bloc: Fenetre, noyau: np.ndarray, cible: Fenetre) -> np.ndarray:
    """Σ_j K(i − j)·delta_j pour les cellules i de ``cible`` (delta nul hors de ``bloc``) : convolution
    pleine par FFT (double précision), recadrée sur ``cible``."""
    forme = tuple(a + b - 1 for a, b in zip(delta.shape, noyau.shape))
    taille = tuple(sfft.next_fast_len(n, real=True) for n in forme)
    spectre = sfft.rfft2(delta, s=taille, workers=-1) * sfft.rfft2(noyau.astype(np.float64), s=taille, workers=-1)
    plein = sfft.irfft2(spectre, s=taille, workers=-1)[:forme[0], :forme[1]]
    dy, dx = noyau.shape[0] // 2, noyau.shape[1] // 2
    sortie = np.zeros((cible[1] - cible[0], cible[3] - cible[2]))
    # la case (0, 0) de ``plein`` est la cellule (bloc.l0 − dy, bloc.c0 − dx) de la grille
    l0, c0 = bloc[0] - dy, bloc[2] - dx
    a0, a1 = max(cible[0], l0), min(cible[1], l0 + plein.shape[0])
    b0, b1 = max(cible[2], c0), min(cible[3], c0 + plein.shape[1])
    if a1 > a0 and b1 > b0:
        sortie[a0 - cible[0]:a1 - cible[0], b0 - cible[2]:b1 - cible[2]] = plein[a0 - l0:a1 - l0, b0 - c0:b1 - c0]
    return sortie


def ajouter_normalise(grille: np.ndarray, brut: np.ndarray, masque: np.ndarray, noyau: np.ndarray,
                      valide: np.ndarray, cible: Fenetre) -> None:
    """grille[cible] += brut / conv(valide) · ΣK sur les cellules valides de masque > 0 (en place), comme
    :meth:`indicateurs.chaleur.ConvolueurFFT.convoluer`."""
    t = tranche(cible)
    m = masque[t]
    garde = valide[t] & (m > 0)
    vue = grille[t]
    vue[garde] += brut[garde] / m[garde] * noyau.sum(dtype=np.float64)


def patcher_scenario(modele: ModeleChaleur, etat: dict, nom: str, ancien_bloc: np.ndarray, fenetre: Fenetre,
                     t_air: np.ndarray) -> tuple[np.ndarray, Fenetre | None]:
    """Applique au scénario ``nom`` le nouveau bloc de revêtements de ``fenetre`` : met à jour en place la grille
    de revêtement, GA et CC_parc de l'état ; renvoie (T_air mise à jour — copie —, fenêtre où T_air change)."""
    revetement = etat["revetements"][nom]
    nouveau_bloc = revetement[tranche(fenetre)]
    bloc = emprise_changements(nouveau_bloc != ancien_bloc, fenetre)
    if bloc is None:
        return t_air, None
    forme, valide, masques = revetement.shape, modele.valide, etat["masques"]
    portee_hm = max(modele.noyau_disque.shape[0], modele.noyau_parc.shape[0]) // 2
    zone_hm = elargir(bloc, portee_hm, forme)
    avant = revetement[tranche(zone_hm)].copy()  # revêtements d'avant : ne diffèrent que dans ``bloc``
    avant[_decaler(bloc, zone_hm)] = ancien_bloc[_decaler(bloc, fenetre)]
    cc_avant, vert_avant = modele.capacite_revetements(avant)
    cc_apres, vert_apres = modele.capacite_revetements(revetement[tranche(zone_hm)])
    dans_bloc = _decaler(bloc, zone_hm)
    delta_vert = vert_apres[dans_bloc] - vert_avant[dans_bloc]
    delta_parc = (vert_apres * np.nan_to_num(cc_apres))[dans_bloc] - (vert_avant * np.nan_to_num(cc_avant))[dans_bloc]
    ga, cc_parc = etat["surface_verte"][nom], etat["cc_parc"][nom]
    hm_avant = modele.attenuer(cc_avant, ga[tranche(zone_hm)], cc_parc[tranche(zone_hm)])
    for grille_etat, delta, noyau, cle in ((ga, delta_vert, modele.noyau_disque, "disque"),
                                           (cc_parc, delta_parc, modele.noyau_parc, "parc")):
        brut = convoluer_delta(delta, bloc, noyau, zone_hm)
        ajouter_normalise(grille_etat, brut, masques[cle], noyau, valide, zone_hm)
    hm_apres = modele.attenuer(cc_apres, ga[tranche(zone_hm)], cc_parc[tranche(zone_hm)])
    uhi = modele.parametres.uhi_max_c
    delta_anomalie = np.nan_to_num(calculer_temperature_sans_brassage(hm_apres, 0.0, uhi)
                                   - calculer_temperature_sans_brassage(hm_avant, 0.0, uhi))
    zone_t = elargir(zone_hm, modele.noyau_brassage.shape[0] // 2, forme)
    brut = convoluer_delta(delta_anomalie, zone_hm, modele.noyau_brassage, zone_t)
    t_air = t_air.copy()
    ajouter_normalise(t_air, brut, masques["brassage"], modele.noyau_brassage, valide, zone_t)
    return t_air, zone_t


def _decaler(interieur: Fenetre, exterieur: Fenetre) -> tuple[slice, slice]:
    """Tranches de ``interieur`` dans un bloc qui commence au coin de ``exterieur``."""
    return (slice(interieur[0] - exterieur[0], interieur[1] - exterieur[0]),
            slice(interieur[2] - exterieur[2], interieur[3] - exterieur[2]))


def mettre_a_jour_paires(paires: dict, zones, operations: np.ndarray, grille: Grille,
                         parametres: ParametresChaleur) -> dict:
    """Paires (opération, cellule) : celles des opérations touchées sont recalculées, les autres gardées ;
    même ordre que :func:`indicateurs.chaleur.indexer_cellules_operations` sur toutes les zones."""
    nouvelles = indexer_cellules_operations(zones[zones["operation_id"].isin(operations)], grille, parametres)
    resultat = {}
    for nom, (ids, cellules) in paires.items():
        garde = ~np.isin(ids, operations)
        ids = np.concatenate([ids[garde], nouvelles[nom][0]])
        cellules = np.concatenate([cellules[garde], nouvelles[nom][1]])
        ordre = np.lexsort((cellules, ids))
        resultat[nom] = (ids[ordre], cellules[ordre])
    return resultat


def mettre_a_jour_comptes(comptes: np.ndarray, commune: np.ndarray, ancien: np.ndarray, nouveau: np.ndarray,
                          ) -> None:
    """Comptes (commune × revêtement) d'un scénario : retire les anciennes cellules, ajoute les nouvelles."""
    largeur = comptes.shape[1]
    change = ancien != nouveau
    for bloc, signe in ((ancien, -1), (nouveau, 1)):
        cle = commune[change].astype(np.int64) * largeur + bloc[change].astype(np.int64)
        comptes += signe * np.bincount(cle, minlength=comptes.size).reshape(comptes.shape)


def mettre_a_jour_chaleur(ancien: ChaleurTerritoire, occupation: OccupationGrille, zones,
                          parametres: ParametresChaleur, signature_occupation: str,
                          scenarios: tuple[str, ...]) -> ChaleurTerritoire | None:
    """Résultat pour ``zones`` déduit de ``ancien`` (calcul complet ou mise à jour précédente), ou ``None``
    s'il faut tout recalculer (pas d'état, grandeur globale changée, zones non comparables).

    L'état passe au nouveau résultat (GA, CC_parc et revêtements sont mis à jour en place) : ``ancien``
    garde ses grilles T_air et ses tables, mais ne peut plus servir de base.
    """
    etat = ancien.meta.get("etat")
    cle_globale = calculer_cle_chaleur(zones.iloc[:0], signature_occupation, parametres, scenarios)
    if etat is None or etat["cle_globale"] != cle_globale or tuple(etat["revetements"]) != tuple(scenarios):
        return None
    debut = time.perf_counter()
    changement = comparer_zones(etat["zones"], zones)
    if changement is None:
        return None
    ancien.meta.pop("etat", None)
    grille = occupation.grille
    fenetre = fenetre_geometries(changement.geometries, grille)
    t_air, zones_t = dict(ancien.t_air), []
    if fenetre is not None:
        modele = ModeleChaleur(occupation.valide, grille.resolution, parametres, dtype=np.float64)
        zones_l93 = projeter_lambert93(zones) if len(zones) else zones
        for nom in scenarios:
            bloc = graver_fenetre(occupation, zones_l93, choisir_revetements_scenario(zones, nom), fenetre)
            ancien_bloc = etat["revetements"][nom][tranche(fenetre)].copy()
            etat["revetements"][nom][tranche(fenetre)] = bloc
            if "comptes_eau" in etat:
                mettre_a_jour_comptes(etat["comptes_eau"][nom], occupation.commune[tranche(fenetre)],
                                      ancien_bloc, bloc)
            t_air[nom], zone_t = patcher_scenario(modele, etat, nom, ancien_bloc, fenetre, t_air[nom])
            zones_t.append(zone_t)
    etat["paires"] = mettre_a_jour_paires(etat["paires"], zones, changement.operations, grille, parametres)
    etat["zones"] = zones
    operations = (tabuler_chaleur_operations(t_air, zones, etat["paires"])
                  if len(zones) and "sans_operations" in t_air else pd.DataFrame(columns=COLONNES_OPERATIONS))
    communes = agreger_communes_touchees(ancien.communes, t_air, occupation, parametres, zones_t)
    cle = calculer_cle_chaleur(zones, signature_occupation, parametres, scenarios)
    resultat = ChaleurTerritoire(grille, t_air, communes, operations, cle, parametres)
    resultat.meta["etat"] = etat
    resultat.meta["mise_a_jour"] = {"zones_changees": len(changement.zones),
                                    "operations_touchees": len(changement.operations),
                                    "fenetres_t_air": [z for z in zones_t if z is not None],
                                    "duree_s": time.perf_counter() - debut}
    return resultat


def emprises_communes(occupation: OccupationGrille) -> np.ndarray:
    """Fenêtre (l0, l1, c0, c1) des cellules de chaque commune (ligne k − 1 pour l'étiquette k), calculée une
    fois par grille."""
    if "emprises_communes" not in occupation.meta:
        nombre = len(occupation.codes_insee) + 1
        lignes = [np.flatnonzero(np.bincount(ligne, minlength=nombre)) for ligne in occupation.commune]
        emprises = np.zeros((nombre, 4), np.int64)
        emprises[:, 0], emprises[:, 2] = occupation.commune.shape[0], occupation.commune.shape[1]
        colonnes = [np.flatnonzero(np.bincount(col, minlength=nombre))
                    for col in np.ascontiguousarray(occupation.commune.T)]
        for axe, etiquettes in ((0, lignes), (1, colonnes)):
            for position, presentes in enumerate(etiquettes):
                emprises[presentes, 2 * axe] = np.minimum(emprises[presentes, 2 * axe], position)
                emprises[presentes, 2 * axe + 1] = np.maximum(emprises[presentes, 2 * axe + 1], position + 1)
        occupation.meta["emprises_communes"] = emprises[1:]
    return occupation.meta["emprises_communes"]


def agreger_communes_touchees(ancienne: pd.DataFrame, t_air: dict, occupation: OccupationGrille,
                              parametres: ParametresChaleur, fenetres: list) -> pd.DataFrame:
    """Table par commune : lignes des communes que touchent les fenêtres où T_air a changé recalculées sur
    l'emprise de ces communes (mêmes cellules, même ordre de sommation que sur la grille entière : mêmes
    nombres), les autres reprises de ``ancienne``."""
    fenetres = [f for f in fenetres if f is not None]
    if not fenetres:
        return ancienne.copy()
    touchees = np.unique(np.concatenate([occupation.commune[tranche(f)].ravel() for f in fenetres]))
    touchees = touchees[touchees > 0]
    if not len(touchees):
        return ancienne.copy()
    emprises = emprises_communes(occupation)[touchees - 1]
    fenetre = (int(emprises[:, 0].min()), int(emprises[:, 1].max()), int(emprises[:, 2].min()),
               int(emprises[:, 3].max()))
    t = tranche(fenetre)
    partielle = OccupationGrille(occupation.grille, occupation.revetement[t], occupation.artificialise[t],
                                 occupation.commune[t], occupation.codes_insee,
                                 None if occupation.urbain is None else occupation.urbain[t])
    recalculee = agreger_chaleur_communes({nom: grille[t] for nom, grille in t_air.items()}, partielle,
                                          parametres)
    table = ancienne.copy()
    lignes = table["code_insee"].isin([occupation.codes_insee[k - 1] for k in touchees]).to_numpy()
    table.loc[lignes] = recalculee.loc[lignes]
    return table
