"""Grilles chaleur et eau calculées en tuiles avec un halo de la portée des noyaux (graphe Dask).

La grille est découpée en tuiles carrées de ``taille_tuile_cellules`` (``indicateurs/parametres/modele.csv``).
Deux étapes de blocs avec halos (une tâche ``dask.delayed`` par tuile et par étape) :

1. HM sur chaque tuile, lue avec un halo de ``r_1`` cellules de revêtements, ``r_1`` = demi-largeur du plus
   grand des noyaux de GA (disque de d_cool) et de CC_parc (exponentiel coupé à 5·d_cool) ;
2. T_air sur chaque tuile, lue avec un halo de ``r_2`` cellules de HM, prises à la tuile et à ses 8 voisines
   (noyau de brassage coupé à 5·r_mix ; le côté d'une tuile est au moins le halo, :func:`decouper_axe`).

C'est ce que fait ``dask.array.map_overlap``, sans ses tâches de découpe et de recollage des bords (une
dizaine par tuile et par étape : 2 332 tâches au lieu de 145 pour 5 × 5 tuiles et 3 scénarios, cinq fois
plus lent sur une grappe ``distributed``).

Hors de la grille, le halo est rempli de cellules hors territoire (revêtement 0, HM ``NaN``) : c'est exactement
le traitement des bords du calcul complet (:class:`indicateurs.chaleur.ConvolueurFFT`, convolutions
normalisées par le masque des cellules valides). Une cellule de la tuile voit donc dans son bloc étendu tout
son voisinage d'influence, masque compris : même valeur que le calcul complet, aux arrondis de la FFT près
(~1e-12 °C ; GA est arrondie à ``DECIMALES_SURFACE_VERTE`` avant le seuil de 2 ha, comme dans le calcul complet).

Agrégats par commune et par opération : sommes et comptes par tuile (:func:`sommer_tuile`), additionnés ensuite
(:meth:`TravailTuiles.assembler`) ; l'eau (modèle par cellule) : comptes (commune × revêtement) par tuile. Aucune
grille entière en flottants : le pic mémoire d'une tâche dépend de la tuile (bloc étendu de
``(taille + 2·r)²`` cellules), pas du territoire. Les grilles T_air (float32) sont écrites tuile par tuile dans
des cibles fournies par l'appelant (``cibles[scenario][fenêtre] = bloc``), ou assemblées en mémoire (float64)
quand il n'en fournit pas (petits territoires, tests).

Ce module ne fait que préparer le graphe Dask (paresseux) ; l'exécution (planificateur local ou grappe
``distributed``) est l'affaire de :mod:`services.tuiles`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dask
import numpy as np
import pandas as pd

from donnees.erreurs import ErreurDonnees
from indicateurs.chaleur import (
    COLONNES_OPERATIONS,
    ModeleChaleur,
    ParametresChaleur,
    composer_table_operations,
    indexer_cellules_operations,
    sommer_chaleur_communes,
    sommer_ecarts_operations,
    tabuler_chaleur_communes,
)
from indicateurs.eau_grille import compter_revetements_par_commune
from indicateurs.grille import (
    INDICE_HORS_TERRITOIRE,
    SCENARIOS,
    OccupationGrille,
    construire_scenarios,
    lister_codes_revetement,
)

TAILLE_TUILE_MIN = 16  # cellules : en dessous, le graphe Dask serait fait de tâches minuscules


# ------------------------------------------------------------------------------------ blocs


def _modele_bloc(valide: np.ndarray, resolution_m: float, parametres: ParametresChaleur) -> ModeleChaleur:
    # un seul fil FFT par tâche : le parallélisme vient des tuiles (processus ou fils Dask)
    return ModeleChaleur(valide, resolution_m, parametres, workers=1, dtype=np.float64, garder_spectres=False)


def attenuer_bloc(revetement: np.ndarray, resolution_m: float, parametres: ParametresChaleur) -> np.ndarray:
    """HM (float64, ``NaN`` hors territoire) d'un bloc de revêtements lu avec son halo ; mêmes opérations que
    :meth:`ModeleChaleur.calculer_revetements` (ET0 uniforme) sur la grille entière."""
    modele = _modele_bloc(revetement != INDICE_HORS_TERRITOIRE, resolution_m, parametres)
    cc, vert = modele.reclasser_revetements(revetement, parametres.et0_mm_jour, parametres.et0_mm_jour)
    return modele.attenuer_signal(cc, vert)[0]


def brasser_bloc(hm: np.ndarray, resolution_m: float, parametres: ParametresChaleur) -> np.ndarray:
    """T_air (°C, float64, ``NaN`` hors territoire) d'un bloc de HM lu avec son halo ; les cellules valides
    sont celles où HM est défini (HM est ``NaN`` exactement hors territoire)."""
    return _modele_bloc(~np.isnan(hm), resolution_m, parametres).brasser(hm)[0]


def calculer_portees(resolution_m: float, parametres: ParametresChaleur) -> tuple[int, int]:
    """(halo de HM, halo de T_air) en cellules : portées des noyaux (:meth:`ModeleChaleur.portees`)."""
    return _modele_bloc(np.ones((1, 1), bool), resolution_m, parametres).portees()


def lire_fenetre(grille: np.ndarray, lignes: tuple[int, int], colonnes: tuple[int, int], halo: int,
                 fond) -> np.ndarray:
    """Copie de ``grille[l0 − halo : l1 + halo, c0 − halo : c1 + halo]``, cellules hors grille = ``fond``."""
    (l0, l1), (c0, c1) = lignes, colonnes
    sortie = np.full((l1 - l0 + 2 * halo, c1 - c0 + 2 * halo), fond, dtype=grille.dtype)
    a0, a1 = max(l0 - halo, 0), min(l1 + halo, grille.shape[0])
    b0, b1 = max(c0 - halo, 0), min(c1 + halo, grille.shape[1])
    sortie[a0 - l0 + halo:a1 - l0 + halo, b0 - c0 + halo:b1 - c0 + halo] = grille[a0:a1, b0:b1]
    return sortie


def attenuer_tuile(revetement: np.ndarray, halo: int, resolution_m: float, parametres: ParametresChaleur
                   ) -> np.ndarray:
    """Étape 1 : HM de la tuile (halo retiré) à partir de ses revêtements lus avec un halo de ``halo``."""
    hm = attenuer_bloc(revetement, resolution_m, parametres)
    return np.ascontiguousarray(hm[halo:hm.shape[0] - halo, halo:hm.shape[1] - halo])


def brasser_tuile(voisines: dict, halo: int, resolution_m: float, parametres: ParametresChaleur) -> np.ndarray:
    """Étape 2 : T_air de la tuile à partir de la HM de la tuile et de ses 8 voisines (``{(di, dj): HM}``,
    absentes au bord de la grille) : bloc étendu de ``halo`` cellules (``halo`` ≤ côté des voisines), ``NaN``
    (hors territoire) au-delà de la grille."""
    h, w = voisines[(0, 0)].shape
    etendu = np.full((h + 2 * halo, w + 2 * halo), np.nan)
    for (di, dj), bloc in voisines.items():
        oy = {-1: -bloc.shape[0], 0: 0, 1: h}[di]  # origine du bloc voisin dans le repère de la tuile
        ox = {-1: -bloc.shape[1], 0: 0, 1: w}[dj]
        y0, y1 = max(oy, -halo), min(oy + bloc.shape[0], h + halo)
        x0, x1 = max(ox, -halo), min(ox + bloc.shape[1], w + halo)
        etendu[y0 + halo:y1 + halo, x0 + halo:x1 + halo] = bloc[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    t_air = brasser_bloc(etendu, resolution_m, parametres)
    return np.ascontiguousarray(t_air[halo:halo + h, halo:halo + w])


def ecrire_tuile(cible, lignes: tuple[int, int], colonnes: tuple[int, int], t_air: np.ndarray) -> None:
    """Écrit la T_air d'une tuile (float32) dans la cible de l'appelant (``cible[fenêtre] = bloc``)."""
    cible[slice(*lignes), slice(*colonnes)] = t_air.astype(np.float32)


def assembler_tuiles(lignes_de_tuiles: list[list[np.ndarray]]) -> np.ndarray:
    """Grille entière à partir des tuiles (petits territoires, tests)."""
    return np.block(lignes_de_tuiles)


def calculer_t_air_tuiles(revetement: np.ndarray, bornes: tuple[list, list], resolution_m: float,
                          parametres: ParametresChaleur) -> list[list]:
    """T_air (float64) de chaque tuile, en deux étapes de blocs avec halos (tâches ``dask.delayed``) : HM
    (revêtements lus avec le halo du noyau des parcs), puis T_air (HM des voisines, halo du noyau de brassage).
    Hors grille = hors territoire. ``bornes`` : (lignes, colonnes) de chaque rangée/colonne de tuiles."""
    halo_hm, halo_brassage = calculer_portees(resolution_m, parametres)
    lignes, colonnes = bornes
    attenuer = dask.delayed(attenuer_tuile, pure=True)
    brasser = dask.delayed(brasser_tuile, pure=True)
    hm = [[attenuer(lire_fenetre(revetement, li, co, halo_hm, INDICE_HORS_TERRITOIRE), halo_hm, resolution_m,
                    parametres) for co in colonnes] for li in lignes]
    n, m = len(lignes), len(colonnes)
    return [[brasser({(di, dj): hm[i + di][j + dj] for di in (-1, 0, 1) for dj in (-1, 0, 1)
                      if 0 <= i + di < n and 0 <= j + dj < m}, halo_brassage, resolution_m, parametres)
             for j in range(m)] for i in range(n)]


def sommer_tuile(t_air: dict[str, np.ndarray], revetements: dict[str, np.ndarray], commune: np.ndarray,
                 urbain: np.ndarray, paires: dict, nombres: tuple[int, int], parametres: ParametresChaleur) -> dict:
    """Sommes additives d'une tuile : chaleur par commune (Σ T_air, cellules, cellules en îlot) et par
    opération (Σ écarts et cellules, pour les seules opérations de la tuile), comptes eau (commune ×
    revêtement). ``paires`` : ``{nom: (n° d'opération global, cellule à plat dans la tuile)}``."""
    nb_communes, nb_revetements = nombres
    sommes = {"communes": {nom: sommer_chaleur_communes(grille, commune, urbain, nb_communes + 1, parametres)
                           for nom, grille in t_air.items()},
              "eau": {nom: compter_revetements_par_commune(rev, commune, nb_communes, nb_revetements)
                      for nom, rev in revetements.items()}}
    presentes, inverse = np.unique(np.concatenate([np.empty(0, np.int64)] + [ops for ops, _ in paires.values()]),
                                   return_inverse=True)
    bornes = np.cumsum([0] + [len(ops) for ops, _ in paires.values()])
    locales = {nom: (inverse[a:b], cellules) for (nom, (_, cellules)), a, b in zip(paires.items(), bornes[:-1],
                                                                                   bornes[1:])}
    plates = {nom: grille.ravel() for nom, grille in t_air.items()}
    sommes["operations"] = (presentes, sommer_ecarts_operations(plates, locales, len(presentes))
                            if "sans_operations" in plates else {})
    return sommes


# ------------------------------------------------------------------------------------ travail


@dataclass
class TravailTuiles:
    """Calcul en tuiles préparé (graphe Dask paresseux) : calculer ``a_calculer`` ensemble (une seule passe
    sur les tuiles : sommes par tuile, puis écriture des tuiles dans les cibles ou grilles T_air à assembler),
    puis :meth:`assembler` les résultats, dans le même ordre."""

    a_calculer: list
    occupation: OccupationGrille
    zones: pd.DataFrame
    parametres: ParametresChaleur
    scenarios: tuple[str, ...]
    paires: dict
    operations: np.ndarray
    nombre_tuiles: int
    assembler_grilles: bool
    meta: dict = field(default_factory=dict)

    def assembler(self, resultats) -> dict:
        """``{"t_air": {scénario: grille float64} (si assemblées), "communes", "operations", "comptes_eau"}``."""
        par_tuile, grilles = resultats[0], (list(resultats[1:]) if self.assembler_grilles else None)
        nb_ops = len(self.operations)
        communes = {nom: tuple(sum(t["communes"][nom][k] for t in par_tuile) for k in range(3))
                    for nom in self.scenarios}
        comptes_eau = {nom: sum(t["eau"][nom] for t in par_tuile) for nom in self.scenarios}
        ecarts: dict = {}
        for tuile in par_tuile:
            presentes, sommes = tuile["operations"]
            for cle, (somme, compte) in sommes.items():
                total = ecarts.setdefault(cle, (np.zeros(nb_ops), np.zeros(nb_ops, np.int64)))
                np.add.at(total[0], presentes, somme)
                np.add.at(total[1], presentes, compte)
        g = self.occupation.grille
        table_communes = tabuler_chaleur_communes(communes, self.occupation.codes_insee, g.surface_cellule_m2,
                                                  self.parametres)
        if nb_ops and "sans_operations" in self.scenarios:
            numeros = {nom: (np.searchsorted(self.operations, ids), c) for nom, (ids, c) in self.paires.items()}
            table_ops = composer_table_operations(self.zones, self.operations, numeros, ecarts)
        else:
            table_ops = pd.DataFrame(columns=COLONNES_OPERATIONS)
        t_air = dict(zip(self.scenarios, grilles)) if grilles is not None else {}
        return {"t_air": t_air, "communes": table_communes, "operations": table_ops, "comptes_eau": comptes_eau}


def decouper_axe(longueur: int, taille: int, halo: int) -> tuple[int, ...]:
    """Tailles des tuiles le long d'un axe : ``taille`` (au moins le halo : ``map_overlap`` lit ses voisines
    sur toute la profondeur du halo), la dernière tuile plus courte que le halo étant fondue dans la
    précédente (sinon Dask redécouperait la grille)."""
    taille = max(int(taille), int(halo), 1)
    tailles = [taille] * (longueur // taille)
    reste = longueur - taille * len(tailles)
    if reste and (reste >= halo or not tailles):
        tailles.append(reste)
    elif reste:
        tailles[-1] += reste
    return tuple(tailles)


def _paires_par_tuile(paires: dict, operations: np.ndarray, largeur: int, chunks: tuple) -> dict:
    """Paires (n° d'opération, cellule locale à plat) de chaque tuile ``(i, j)``, par emprise/anneau."""
    bords = [np.cumsum((0,) + tuple(c)) for c in chunks]
    par_tuile: dict = {}
    for nom, (ids, cellules) in paires.items():
        ops = np.searchsorted(operations, ids)
        lignes, colonnes = np.divmod(cellules, largeur)
        ti = np.searchsorted(bords[0], lignes, side="right") - 1
        tj = np.searchsorted(bords[1], colonnes, side="right") - 1
        cle = ti.astype(np.int64) * len(chunks[1]) + tj
        ordre = np.argsort(cle, kind="stable")
        uniques, debuts = np.unique(cle[ordre], return_index=True)
        for u, a, b in zip(uniques, debuts, list(debuts[1:]) + [len(ordre)]):
            i, j = divmod(int(u), len(chunks[1]))
            choix = ordre[a:b]
            locale = (lignes[choix] - bords[0][i]) * chunks[1][j] + (colonnes[choix] - bords[1][j])
            par_tuile.setdefault((i, j), {})[nom] = (ops[choix], locale.astype(np.int64))
    return par_tuile


def preparer_chaleur_tuiles(occupation: OccupationGrille, zones, parametres: ParametresChaleur,
                            taille_tuile: int, scenarios=tuple(SCENARIOS), cibles: dict | None = None
                            ) -> TravailTuiles:
    """Graphe Dask du modèle de chaleur (et des comptes de l'eau) en tuiles de ``taille_tuile`` cellules.

    ``cibles`` : ``{scénario: objet}`` où écrire T_air (float32) tuile par tuile (``objet[fenêtre] = bloc``,
    picklable : il part aux processus de la grappe) ; sans cibles, les grilles T_air (float64) sont assemblées
    en mémoire par :meth:`TravailTuiles.assembler`.
    """
    taille = int(taille_tuile)
    if taille < TAILLE_TUILE_MIN:
        raise ErreurDonnees(f"Taille de tuile trop petite ({taille} cellules, minimum {TAILLE_TUILE_MIN}).",
                            "parametres", "taille_tuile_cellules")
    scenarios = tuple(scenarios)
    g = occupation.grille
    halos = calculer_portees(g.resolution, parametres)
    chunks = tuple(decouper_axe(n, taille, max(halos)) for n in g.forme)
    bornes = tuple([(int(a), int(b)) for a, b in zip(np.cumsum((0,) + c)[:-1], np.cumsum(c))] for c in chunks)
    revetements = construire_scenarios(occupation, zones, scenarios)
    t_air = {nom: calculer_t_air_tuiles(r, bornes, g.resolution, parametres) for nom, r in revetements.items()}
    urbain = occupation.urbain if occupation.urbain is not None else occupation.valide
    operations = np.unique(zones["operation_id"].to_numpy()) if len(zones) else np.empty(0)
    paires = indexer_cellules_operations(zones, g, parametres)
    par_tuile = _paires_par_tuile(paires, operations, g.largeur, chunks)
    vides = {nom: (np.empty(0, np.int64), np.empty(0, np.int64)) for nom in paires}
    nombres = (len(occupation.codes_insee), len(lister_codes_revetement()))
    sommer = dask.delayed(sommer_tuile, pure=True)
    sommes, ecritures = [], []
    for i, (l0, l1) in enumerate(bornes[0]):
        for j, (c0, c1) in enumerate(bornes[1]):
            sommes.append(sommer({nom: t[i][j] for nom, t in t_air.items()},
                                 {nom: r[l0:l1, c0:c1].copy() for nom, r in revetements.items()},
                                 occupation.commune[l0:l1, c0:c1].copy(), urbain[l0:l1, c0:c1].copy(),
                                 par_tuile.get((i, j), vides), nombres, parametres))
            if cibles is not None:
                ecritures.extend(dask.delayed(ecrire_tuile)(cibles[nom], (l0, l1), (c0, c1), t_air[nom][i][j])
                                 for nom in scenarios)
    a_calculer: list = [dask.delayed(sommes)]  # une collection Dask par élément (``Client.compute``)
    if cibles is not None:
        a_calculer.append(dask.delayed(ecritures))
    else:
        a_calculer.extend(dask.delayed(assembler_tuiles)(t_air[nom]) for nom in scenarios)
    return TravailTuiles(a_calculer, occupation, zones, parametres, scenarios, paires, operations,
                         len(sommes), cibles is None, {"taille_tuile": taille, "halos": halos,
                                                       "tuiles": (len(chunks[0]), len(chunks[1]))})
