"""Chaleur : modèle de rafraîchissement urbain d'InVEST (Urban Cooling Model, méthode des facteurs, jour).

Équations (guide d'utilisation InVEST, « Urban Cooling » ; source natcap/invest
``urban_cooling_model.py`` ≥ 3.15 et ``pygeoprocessing.convolve_2d``) :

- ETI = kc · ET0 / ET0_max (sans unité) ;
- CC = w_ombre·ombre + w_albedo·albédo + w_eti·ETI, poids divisés par leur somme (sans unité) ;
- GA = surface verte (cellules ``espace_vert``) dans un disque de rayon d_cool (en cellules) ;
- CC_parc = Σ g_j·CC_j·e^(−d/d_cool) / Σ e^(−d/d_cool), noyau exponentiel normalisé coupé à 5·d_cool
  (CC des espaces verts seulement, correction InVEST 3.15) ;
- HM = CC si CC ≥ CC_parc ou GA < 2 ha, sinon CC_parc ;
- T_air_nomix = T_ref + (1 − HM)·UHI_max (°C) ;
- T_air = moyenne de T_air_nomix pondérée par le noyau exponentiel normalisé de rayon r_mix (°C).

Bords et cellules hors territoire (nodata) : comme ``convolve_2d(ignore_nodata_and_edges=True)``, chaque
convolution est divisée par la convolution du masque des cellules valides puis multipliée par la somme du
noyau ; le résultat est nodata (``NaN``) là où le signal l'est. Les distances des noyaux sont
``round(distance / résolution)`` cellules, comme InVEST.

Convolutions par FFT réelle (``scipy.fft``, ``workers``), en simple précision (mode InVEST) ou en double
précision (territoire du projet : la mise à jour incrémentale, :mod:`indicateurs.mise_a_jour`, doit retrouver
le calcul complet à 1e-6 °C près, sous le pas du float32 à 30 °C) ; GA toujours en double précision, arrondie
à ``DECIMALES_SURFACE_VERTE`` avant d'être comparée au seuil de 2 ha (le bruit d'arrondi de la FFT ne fait
pas basculer HM). Spectres des noyaux et convolutions des masques réutilisés d'un scénario à l'autre.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy import fft as sfft

from donnees.erreurs import ErreurDonnees
from indicateurs.grille import (
    SCENARIOS,
    Grille,
    OccupationGrille,
    construire_noyau_disque,
    construire_scenarios,
    indexer_cellules_geometries,
    indexer_revetements,
    projeter_lambert93,
    sommer_par_etiquette,
    tabuler_proprietes_revetements,
)
from indicateurs.parametres import Parametres, lire_parametres, lire_parametres_revetements

VERSION_MODELE = "chaleur-2"  # 2 : double précision, GA arrondie avant le seuil
FACTEUR_COUPURE_NOYAU = 5  # noyau exponentiel coupé à 5 × distance (InVEST, convolve_2d_by_exponential)
LIBELLE_ESTIMATION = "estimation, sans brassage de l'air"
TAILLE_CACHE_MEMOIRE = 2
LIGNES_PAR_PAQUET = 256  # FFT des lignes par paquets : le signal en flottants n'existe jamais en entier
# GA (en cellules) arrondie au millionième avant le seuil de 2 ha : à l'intérieur du territoire GA est un
# nombre entier de cellules que la FFT rend à ~1e-12 près ; l'arrondi rend la comparaison indépendante de ce
# bruit (calcul complet et mise à jour incrémentale décident pareil) sans rien changer au modèle.
DECIMALES_SURFACE_VERTE = 6


@dataclass(frozen=True)
class ParametresChaleur:
    """Paramètres du modèle (unités de ``indicateurs/parametres/modele.csv``)."""

    t_ref_c: float
    uhi_max_c: float
    d_cool_m: float
    r_mix_m: float
    poids_ombre: float
    poids_albedo: float
    poids_eti: float
    surface_verte_min_m2: float
    seuil_ilot_chaleur_c: float
    et0_mm_jour: float
    largeur_anneau_m: float

    @classmethod
    def depuis_parametres(cls, parametres: Parametres | None = None) -> ParametresChaleur:
        p = parametres or lire_parametres()
        return cls(p["t_ref_c"], p["uhi_max_c"], p["d_cool_m"], p["r_mix_m"], p["poids_ombre"],
                   p["poids_albedo"], p["poids_eti"], p["surface_verte_min_m2"], p["seuil_ilot_chaleur_c"],
                   p["et0_mm_jour"], p["largeur_anneau_operation_m"])

    def poids_normalises(self) -> tuple[float, float, float]:
        """(w_ombre, w_albedo, w_eti) divisés par leur somme, comme InVEST."""
        somme = self.poids_ombre + self.poids_albedo + self.poids_eti
        if not somme > 0:
            raise ErreurDonnees("Poids de CC tous nuls : donnez un poids positif à l'ombre, l'albédo ou l'ETI.",
                                "parametres", "poids_ombre")
        return (self.poids_ombre / somme, self.poids_albedo / somme, self.poids_eti / somme)


# ------------------------------------------------------------------------------------ formules


def calculer_indice_evapotranspiration(kc, et0, et0_max: float):
    """ETI = kc · ET0 / ET0_max (sans unité ; InVEST, équation 1)."""
    if not et0_max > 0:
        raise ErreurDonnees(f"ET0 maximale nulle ou négative ({et0_max}) : ETI indéfini.", "et0")
    return np.asarray(kc) * np.asarray(et0) / et0_max


def calculer_capacite_refroidissement(ombre, albedo, eti, poids: tuple[float, float, float]):
    """CC = w_ombre·ombre + w_albedo·albédo + w_eti·ETI (sans unité ; InVEST, équation 2, poids normalisés)."""
    w_ombre, w_albedo, w_eti = poids
    return w_ombre * np.asarray(ombre) + w_albedo * np.asarray(albedo) + w_eti * np.asarray(eti)


def calculer_indice_attenuation(cc, surface_verte_px, cc_parc, seuil_px: float):
    """HM = CC si CC ≥ CC_parc ou GA < seuil (en cellules), sinon CC_parc (InVEST, équation 5)."""
    cc, cc_parc = np.asarray(cc), np.asarray(cc_parc)
    garde_cc = (cc >= cc_parc) | (np.asarray(surface_verte_px) < seuil_px)
    return np.where(garde_cc, cc, cc_parc)


def calculer_temperature_sans_brassage(hm, t_ref_c: float, uhi_max_c: float):
    """T_air_nomix = T_ref + (1 − HM)·UHI_max (°C ; InVEST, équation 6)."""
    return t_ref_c + (1 - np.asarray(hm)) * uhi_max_c


def calculer_cc_revetement(code: str, parametres: ParametresChaleur, et0_relatif: float = 1.0) -> float:
    """CC d'un revêtement de la table (ET0 / ET0_max = ``et0_relatif``, 1 pour une ET0 uniforme)."""
    table = lire_parametres_revetements()
    if code not in table.index:
        raise ErreurDonnees(f"Revêtement inconnu « {code} ».", "revetements", "code")
    ligne = table.loc[code]
    eti = calculer_indice_evapotranspiration(float(ligne["kc"]), et0_relatif, 1.0)
    return float(calculer_capacite_refroidissement(float(ligne["ombre"]), float(ligne["albedo"]), eti,
                                                   parametres.poids_normalises()))


# ------------------------------------------------------------------------------------ noyaux


def construire_noyau_exponentiel(distance_px: float, coupure_px: float) -> np.ndarray:
    """Noyau e^(−d/distance) pour d ≤ coupure (cellules), normalisé à une somme de 1 (float32).

    Comme ``pygeoprocessing.kernels.exponential_decay_kernel`` : valeurs float32, divisées par leur somme.
    """
    if not distance_px > 0:
        raise ErreurDonnees(f"Distance de noyau nulle ({distance_px} cellule) : augmentez la distance ou "
                            "affinez la résolution.", "parametres")
    demi = int(np.floor(coupure_px))
    y, x = np.mgrid[-demi:demi + 1, -demi:demi + 1]
    distance = np.hypot(y, x)
    noyau = np.zeros(distance.shape, dtype=np.float32)
    dedans = distance <= coupure_px
    noyau[dedans] = np.exp(-distance[dedans] / distance_px)
    noyau /= np.float32(noyau.sum(dtype=np.float64))
    return noyau


def distance_en_cellules(distance_m: float, resolution_m: float) -> int:
    """round(distance / résolution), comme InVEST (``int(numpy.round(...))``)."""
    return int(np.round(distance_m / resolution_m))


class ConvolueurFFT:
    """Convolutions « same » centrées par FFT réelle sur une grille fixe, normalisées comme
    ``pygeoprocessing.convolve_2d(ignore_nodata_and_edges=True, mask_nodata=True)``.

    FFT séparée en deux passes (lignes puis colonnes, et l'inverse) : pas de copie du signal bourré de zéros,
    les lignes nulles du bourrage ne sont pas transformées, seules les lignes gardées sont inversées, et les
    lignes sont transformées par paquets (mémoire : un seul tableau spectral à la fois). Le
    bourrage est d'un seul côté : une FFT circulaire de longueur L ≥ max(n + k//2, k) rend exactement les n valeurs
    « same » (le repliement ne touche que les k//2 premières valeurs de la convolution pleine, jetées).
    Les spectres des noyaux et les convolutions du masque des cellules valides sont gardés en mémoire :
    plusieurs scénarios sur la même grille ne les calculent qu'une fois.
    """

    def __init__(self, valide: np.ndarray, workers: int = -1, garder_spectres: bool = True):
        self.valide = np.asarray(valide, dtype=bool)
        self.forme = self.valide.shape
        self.workers = workers
        self.garder_spectres = garder_spectres
        self._spectres: dict = {}
        self._masques: dict = {}

    @property
    def masques(self) -> dict:
        """Convolutions du masque des cellules valides déjà calculées, par noyau (propres à la grille)."""
        return self._masques

    def _forme_fft(self, noyau: np.ndarray) -> tuple[int, int]:
        # L ≥ n + k//2 (pas de repliement sur les valeurs gardées) et L ≥ k (le noyau tient entier)
        return tuple(sfft.next_fast_len(max(n + k // 2, k), real=True) for n, k in zip(self.forme, noyau.shape))

    def _transformer(self, signal: np.ndarray, forme_fft: tuple[int, int], dtype) -> np.ndarray:
        """Spectre 2D de ``signal`` bourré de zéros à ``forme_fft`` : FFT réelle des lignes par paquets (le
        signal converti en ``dtype`` n'existe que par paquet), écrite dans le tableau bourré, puis FFT des
        colonnes sur place."""
        complexe = np.result_type(dtype, np.complex64)
        spectre = np.zeros((forme_fft[0], forme_fft[1] // 2 + 1), dtype=complexe)
        for debut in range(0, signal.shape[0], LIGNES_PAR_PAQUET):
            paquet = np.asarray(signal[debut:debut + LIGNES_PAR_PAQUET], dtype=dtype)
            spectre[debut:debut + paquet.shape[0]] = sfft.rfft(paquet, n=forme_fft[1], axis=1, workers=self.workers)
        return sfft.fft(spectre, axis=0, workers=self.workers, overwrite_x=True)

    def _spectre(self, cle: str, noyau: np.ndarray, dtype) -> tuple[np.ndarray, tuple[int, int]]:
        forme_fft = self._forme_fft(noyau)
        index = (cle, np.dtype(dtype).str)
        if index not in self._spectres:
            self._spectres[index] = self._transformer(noyau, forme_fft, dtype)
        return self._spectres[index], forme_fft

    def convoluer_brut(self, signal: np.ndarray, cle: str, noyau: np.ndarray, dtype=np.float32) -> np.ndarray:
        """Σ_j K(i − j)·signal_j (signal nul hors grille), même forme que la grille (tableau contigu)."""
        spectre, forme_fft = self._spectre(cle, noyau, dtype)
        produit = self._transformer(signal, forme_fft, dtype)
        produit *= spectre
        dy, dx = noyau.shape[0] // 2, noyau.shape[1] // 2
        colonnes = sfft.ifft(produit, axis=0, workers=self.workers, overwrite_x=True)[dy:dy + self.forme[0]]
        del produit
        sortie = np.empty(self.forme, dtype=dtype)
        for debut in range(0, self.forme[0], LIGNES_PAR_PAQUET):
            paquet = sfft.irfft(colonnes[debut:debut + LIGNES_PAR_PAQUET], n=forme_fft[1], axis=1,
                                workers=self.workers)
            sortie[debut:debut + paquet.shape[0]] = paquet[:, dx:dx + self.forme[1]]
        return sortie

    def convoluer(self, signal: np.ndarray, cle: str, noyau: np.ndarray, dtype=np.float32) -> np.ndarray:
        """Convolution normalisée : conv(signal·valide) / conv(valide) × ΣK, ``NaN`` hors cellules valides."""
        if cle not in self._masques:
            self._masques[cle] = self.convoluer_brut(self.valide, cle, noyau, dtype)
        masque = self._masques[cle]
        propre = np.where(self.valide, signal, 0)  # converti en ``dtype`` par paquets de lignes
        resultat = self.convoluer_brut(propre, cle, noyau, dtype)
        del propre
        if not self.garder_spectres:  # un seul scénario (mode InVEST) : spectre libéré dès qu'il a servi
            self._spectres.pop((cle, np.dtype(dtype).str), None)
        somme_noyau = noyau.sum(dtype=np.float64)
        garde = self.valide & (masque > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            resultat /= masque
        resultat *= somme_noyau
        resultat[~garde] = np.nan
        return resultat


@dataclass
class ResultatChaleur:
    """Grilles d'un calcul (``NaN`` hors territoire) : cc, hm, t_air (°C) ; surface verte en cellules."""

    cc: np.ndarray
    hm: np.ndarray
    t_air: np.ndarray
    surface_verte_px: np.ndarray | None = None
    cc_parc: np.ndarray | None = None
    t_air_sans_brassage: np.ndarray | None = None


class ModeleChaleur:
    """Modèle de rafraîchissement urbain sur une grille fixe (masque valide, résolution), réutilisable
    pour plusieurs occupations du sol (scénarios)."""

    def __init__(self, valide: np.ndarray, resolution_m: float, parametres: ParametresChaleur,
                 workers: int = -1, dtype=np.float32, garder_spectres: bool = True):
        self.dtype = np.dtype(dtype)
        self.valide = np.asarray(valide, dtype=bool)
        self.resolution_m = float(resolution_m)
        self.parametres = parametres
        self.convolueur = ConvolueurFFT(self.valide, workers, garder_spectres)
        d_cool_px = distance_en_cellules(parametres.d_cool_m, resolution_m)
        r_mix_px = distance_en_cellules(parametres.r_mix_m, resolution_m)
        self.noyau_parc = construire_noyau_exponentiel(d_cool_px, FACTEUR_COUPURE_NOYAU * d_cool_px)
        self.noyau_disque = construire_noyau_disque(d_cool_px)
        self.noyau_brassage = construire_noyau_exponentiel(r_mix_px, FACTEUR_COUPURE_NOYAU * r_mix_px)
        self.seuil_px = parametres.surface_verte_min_m2 / self.resolution_m ** 2

    def calculer(self, kc, espace_vert, ombre, albedo, et0, et0_max: float,
                 garder_intermediaires: bool = False) -> ResultatChaleur:
        """CC, HM et T_air à partir des propriétés par cellule (tableaux de la forme de la grille).

        ``et0`` : scalaire ou grille (mm/jour) ; ``et0_max`` : maximum d'ET0 sur les cellules valides.
        """
        p, t = self.parametres, self.dtype
        v = self.valide
        eti = calculer_indice_evapotranspiration(np.asarray(kc, dtype=t), np.asarray(et0, dtype=t), et0_max)
        cc = calculer_capacite_refroidissement(np.asarray(ombre, t), np.asarray(albedo, t),
                                               eti, p.poids_normalises()).astype(t, copy=False)
        del eti, kc, ombre, albedo  # libérés ici si l'appelant ne les garde pas (mode InVEST)
        cc[~v] = np.nan
        vert = np.where(v, np.asarray(espace_vert, t), 0).astype(t, copy=False)
        del espace_vert
        return self._propager(cc, vert, garder_intermediaires)

    def _propager(self, cc: np.ndarray, vert: np.ndarray, garder_intermediaires: bool) -> ResultatChaleur:
        """GA, CC_parc, HM et T_air à partir de CC (``NaN`` hors territoire) et de la grille « cellule verte »
        (0 hors territoire) ; ``vert`` est réutilisée en place."""
        hm, surface_verte, cc_parc = self.attenuer_signal(cc, vert)
        if not garder_intermediaires:
            surface_verte = cc_parc = None
        t_air, anomalie = self.brasser(hm)
        if not garder_intermediaires:
            return ResultatChaleur(cc, hm, t_air)
        p, t = self.parametres, self.dtype
        return ResultatChaleur(cc, hm, t_air, surface_verte, cc_parc, (p.t_ref_c + anomalie).astype(t))

    def attenuer_signal(self, cc: np.ndarray, vert: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(HM, GA en cellules, CC_parc) à partir de CC et de « cellule verte » (``vert`` modifiée en place).

        Portée : une cellule ne dépend que des cellules à moins de ``portees()[0]`` cellules d'elle."""
        surface_verte = self.convolueur.convoluer(vert, "disque", self.noyau_disque, np.float64)
        vert *= np.nan_to_num(cc)
        cc_parc = self.convolueur.convoluer(vert, "parc", self.noyau_parc, self.dtype)
        del vert
        return self.attenuer(cc, surface_verte, cc_parc), surface_verte, cc_parc

    def brasser(self, hm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T_air, anomalie sans brassage (1 − HM)·UHI_max) en °C ; T_air = T_ref + moyenne de l'anomalie
        pondérée par le noyau de brassage (linéaire, mieux conditionné en float32). Portée : ``portees()[1]``."""
        p, t = self.parametres, self.dtype
        anomalie = calculer_temperature_sans_brassage(hm, 0.0, p.uhi_max_c).astype(t, copy=False)
        t_air = self.convolueur.convoluer(anomalie, "brassage", self.noyau_brassage, t)
        t_air += p.t_ref_c
        return t_air, anomalie

    def portees(self) -> tuple[int, int]:
        """(portée de HM, portée du brassage) en cellules : demi-largeurs des noyaux (disque de d_cool et
        exponentiel des parcs coupé à 5·d_cool ; exponentiel de brassage coupé à 5·r_mix)."""
        return (max(self.noyau_disque.shape[0], self.noyau_parc.shape[0]) // 2, self.noyau_brassage.shape[0] // 2)

    def attenuer(self, cc, surface_verte, cc_parc) -> np.ndarray:
        """HM (``NaN`` hors cellules valides) ; GA arrondie à ``DECIMALES_SURFACE_VERTE`` avant le seuil."""
        with np.errstate(invalid="ignore"):
            ga = np.round(np.asarray(surface_verte, np.float64), DECIMALES_SURFACE_VERTE)
            hm = calculer_indice_attenuation(cc, ga, cc_parc, self.seuil_px).astype(self.dtype)
        hm[np.isnan(np.asarray(cc))] = np.nan
        return hm

    def capacite_revetements(self, revetement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(CC, cellule verte) d'une grille d'indices de revêtement, ET0 uniforme (ETI = kc), dans le type
        du modèle ; CC ``NaN`` hors territoire (indice 0). Même arithmétique que :meth:`calculer`."""
        p, t = self.parametres, self.dtype
        tables = {cle: np.nan_to_num(valeurs).astype(np.float32) for cle, valeurs in
                  tabuler_proprietes_revetements(("kc", "espace_vert", "ombre", "albedo")).items()}
        eti = calculer_indice_evapotranspiration(tables["kc"][revetement].astype(t),
                                                 np.asarray(p.et0_mm_jour, dtype=t), p.et0_mm_jour)
        cc = calculer_capacite_refroidissement(tables["ombre"][revetement].astype(t),
                                               tables["albedo"][revetement].astype(t), eti,
                                               p.poids_normalises()).astype(t)
        dehors = revetement == 0
        cc[dehors] = np.nan
        vert = np.where(dehors, 0, tables["espace_vert"][revetement]).astype(t)
        return cc, vert

    def calculer_revetements(self, revetement: np.ndarray, et0=None, et0_max: float | None = None,
                             garder_intermediaires: bool = False) -> ResultatChaleur:
        """Même calcul à partir d'une grille d'indices de revêtement (table ``revetements.csv``).

        ET0 uniforme (scalaire) : CC et « cellule verte » sont calculés une fois par revêtement (mêmes
        opérations que :meth:`calculer`, donc mêmes valeurs), puis lus par indice : un seul reclassement."""
        proprietes = tabuler_proprietes_revetements(("kc", "espace_vert", "ombre", "albedo"))
        et0 = self.parametres.et0_mm_jour if et0 is None else et0
        et0_max = float(np.nanmax(np.where(self.valide, et0, np.nan))) if et0_max is None else et0_max
        tables = {cle: np.nan_to_num(valeurs).astype(np.float32) for cle, valeurs in proprietes.items()}
        if np.ndim(et0):
            return self.calculer(tables["kc"][revetement], tables["espace_vert"][revetement],
                                 tables["ombre"][revetement], tables["albedo"][revetement], et0, et0_max,
                                 garder_intermediaires)
        cc, vert = self.reclasser_revetements(revetement, et0, et0_max, tables)
        return self._propager(cc, vert, garder_intermediaires)

    def reclasser_revetements(self, revetement: np.ndarray, et0: float, et0_max: float, tables: dict | None = None
                              ) -> tuple[np.ndarray, np.ndarray]:
        """(CC, cellule verte) d'une grille d'indices de revêtement, ET0 uniforme (scalaire) : CC calculé une
        fois par revêtement puis lu par indice ; CC ``NaN`` et cellule verte 0 hors cellules valides."""
        if tables is None:
            tables = {cle: np.nan_to_num(valeurs).astype(np.float32) for cle, valeurs in
                      tabuler_proprietes_revetements(("kc", "espace_vert", "ombre", "albedo")).items()}
        t = self.dtype
        eti = calculer_indice_evapotranspiration(tables["kc"].astype(t), np.asarray(et0, dtype=t), et0_max)
        cc_table = calculer_capacite_refroidissement(tables["ombre"].astype(t), tables["albedo"].astype(t), eti,
                                                     self.parametres.poids_normalises()).astype(t, copy=False)
        cc = cc_table[revetement]
        cc[~self.valide] = np.nan
        vert = tables["espace_vert"].astype(t)[revetement]
        vert[~self.valide] = 0
        return cc, vert


# ------------------------------------------------------------------------------------ territoire


@dataclass
class ChaleurTerritoire:
    """Résultat du modèle sur un territoire : T_air (°C, ``float32``, ``NaN`` hors territoire) par scénario,
    tables par commune et par opération, grille (``grille.transform``, EPSG:2154) pour la carte."""

    grille: Grille
    t_air: dict[str, np.ndarray]
    communes: pd.DataFrame
    operations: pd.DataFrame
    cle: str
    parametres: ParametresChaleur
    meta: dict = field(default_factory=dict)

    def anomalie(self, scenario: str = "realisees") -> np.ndarray:
        """T_air − T_ref (°C) d'un scénario."""
        return self.t_air[scenario] - np.float32(self.parametres.t_ref_c)


def agreger_chaleur_communes(t_air: dict[str, np.ndarray], occupation: OccupationGrille,
                             parametres: ParametresChaleur) -> pd.DataFrame:
    """Table (commune × scénario) sur les cellules urbaines : T_air moyenne, anomalie moyenne (°C), surface en
    îlot de chaleur (anomalie > ``seuil_ilot_chaleur_c``, m²) et écarts au scénario ``sans_operations``."""
    nombre = len(occupation.codes_insee) + 1
    urbain = occupation.urbain if occupation.urbain is not None else occupation.valide
    sommes = {scenario: sommer_chaleur_communes(grille_t, occupation.commune, urbain, nombre, parametres)
              for scenario, grille_t in t_air.items()}
    return tabuler_chaleur_communes(sommes, occupation.codes_insee, occupation.grille.surface_cellule_m2, parametres)


def sommer_chaleur_communes(t_air: np.ndarray, commune: np.ndarray, urbain: np.ndarray, nombre: int,
                            parametres: ParametresChaleur) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Σ T_air en °C, nombre de cellules, nombre de cellules en îlot de chaleur) par étiquette de commune
    0..nombre−1, sur les cellules urbaines où T_air est défini. Additif : les sommes de tuiles disjointes
    s'ajoutent (calcul en tuiles, :mod:`indicateurs.tuiles`)."""
    somme = sommer_par_etiquette(commune, t_air, urbain, nombre)
    compte = sommer_par_etiquette(commune, None, urbain & ~np.isnan(t_air), nombre)
    with np.errstate(invalid="ignore"):
        chaud = urbain & ((t_air - parametres.t_ref_c) > parametres.seuil_ilot_chaleur_c)
    return somme, compte, sommer_par_etiquette(commune, None, chaud, nombre)


def tabuler_chaleur_communes(sommes: dict[str, tuple], codes_insee, surface_cellule_m2: float,
                             parametres: ParametresChaleur) -> pd.DataFrame:
    """Table de :func:`agreger_chaleur_communes` à partir des sommes de :func:`sommer_chaleur_communes` par
    scénario (moyenne = Σ / nombre, ``NaN`` pour une commune sans cellule urbaine)."""
    lignes = []
    for scenario, (somme, compte, n_chaud) in sommes.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            moyenne = np.where(compte > 0, somme / np.maximum(compte, 1), np.nan)
        lignes.append(pd.DataFrame({
            "code_insee": codes_insee, "scenario": scenario,
            "t_air_moyenne_c": moyenne[1:], "anomalie_moyenne_c": moyenne[1:] - parametres.t_ref_c,
            "surface_ilot_chaleur_m2": n_chaud[1:] * surface_cellule_m2,
            "surface_urbaine_m2": compte[1:] * surface_cellule_m2,
        }))
    table = pd.concat(lignes, ignore_index=True)
    if "sans_operations" in sommes:
        base = table[table["scenario"] == "sans_operations"].set_index("code_insee")
        table["delta_t_air_c"] = table["t_air_moyenne_c"] - table["code_insee"].map(base["t_air_moyenne_c"])
        table["delta_surface_ilot_chaleur_m2"] = (table["surface_ilot_chaleur_m2"]
                                                  - table["code_insee"].map(base["surface_ilot_chaleur_m2"]))
    return table


def agreger_chaleur_operations(t_air: dict[str, np.ndarray], zones, grille: Grille,
                               parametres: ParametresChaleur) -> pd.DataFrame:
    """ΔT (°C) par opération, dans son emprise (union de ses zones) et dans un anneau de
    ``largeur_anneau_m`` autour : moyenne de T_air(scénario) − T_air(sans opérations) sur les cellules.

    Colonnes : ``operation_id``, ``code_insee``, ``statut``, ``cellules_emprise``, ``cellules_anneau``,
    ``delta_t_emprise_c`` / ``delta_t_anneau_c`` (réalisées − sans), ``delta_t_emprise_programmees_c`` /
    ``delta_t_anneau_programmees_c`` (réalisées + programmées − sans).
    """
    if not len(zones) or "sans_operations" not in t_air:
        return pd.DataFrame(columns=COLONNES_OPERATIONS)
    return tabuler_chaleur_operations(t_air, zones, indexer_cellules_operations(zones, grille, parametres))


COLONNES_OPERATIONS = ["operation_id", "code_insee", "statut", "cellules_emprise", "cellules_anneau",
                       "delta_t_emprise_c", "delta_t_anneau_c", "delta_t_emprise_programmees_c",
                       "delta_t_anneau_programmees_c"]


def indexer_cellules_operations(zones, grille: Grille, parametres: ParametresChaleur) -> dict:
    """Cellules de l'emprise et de l'anneau de chaque opération : ``{"emprise": (ids, cellules), "anneau":
    (ids, cellules)}``, paires (identifiant d'opération, cellule à plat) uniques, triées par opération puis
    cellule. Les paires d'une opération ne dépendent que de ses zones (mise à jour opération par opération)."""
    vides = (np.empty(0, np.int64), np.empty(0, np.int64))
    if not len(zones):
        return {"emprise": vides, "anneau": vides}
    zones = projeter_lambert93(zones)
    operations, numero_zone = np.unique(zones["operation_id"].to_numpy(), return_inverse=True)
    n_cellules = grille.hauteur * grille.largeur

    def paires_uniques(geometries):
        numeros, cellules = indexer_cellules_geometries(geometries, grille)
        return np.unique(numero_zone[numeros].astype(np.int64) * n_cellules + cellules)

    cles_emprise = paires_uniques(zones.geometry.values)
    cles_tampon = paires_uniques(shapely.buffer(zones.geometry.values, parametres.largeur_anneau_m))
    cles_anneau = cles_tampon[~np.isin(cles_tampon, cles_emprise)]
    return {nom: (operations[cles // n_cellules], cles % n_cellules)
            for nom, cles in (("emprise", cles_emprise), ("anneau", cles_anneau))}


def tabuler_chaleur_operations(t_air: dict[str, np.ndarray], zones, paires: dict) -> pd.DataFrame:
    """Table de :func:`agreger_chaleur_operations` à partir des paires de :func:`indexer_cellules_operations`."""
    operations = np.unique(zones["operation_id"].to_numpy())
    numeros = {nom: (np.searchsorted(operations, ids), cellules) for nom, (ids, cellules) in paires.items()}
    sommes = sommer_ecarts_operations({nom: grille.ravel() for nom, grille in t_air.items()}, numeros,
                                      len(operations))
    return composer_table_operations(zones, operations, numeros, sommes)


ECARTS_OPERATIONS = (("realisees", ""), ("realisees_programmees", "_programmees"))  # (scénario, suffixe)


def sommer_ecarts_operations(t_air: dict[str, np.ndarray], numeros: dict, nombre: int) -> dict:
    """Σ (T_air(scénario) − T_air(sans opérations)) et nombre de cellules valides par opération, pour
    l'emprise et l'anneau : ``{(nom, suffixe): (somme, compte)}``. ``t_air`` : grilles à plat (ou tuile à plat
    avec des cellules locales) ; ``numeros`` : ``{nom: (n° d'opération, cellule)}``. Additif par tuile."""
    base = t_air["sans_operations"]
    sommes = {}
    for scenario, suffixe in ECARTS_OPERATIONS:
        if scenario not in t_air:
            continue
        ecart = t_air[scenario]
        for nom, (ops, cellules) in numeros.items():
            d = ecart[cellules].astype(np.float64) - base[cellules]
            garde = ~np.isnan(d)
            sommes[(nom, suffixe)] = (np.bincount(ops[garde], weights=d[garde], minlength=nombre),
                                      np.bincount(ops[garde], minlength=nombre))
    return sommes


def composer_table_operations(zones, operations: np.ndarray, numeros: dict, sommes: dict) -> pd.DataFrame:
    """Table des opérations (colonnes :data:`COLONNES_OPERATIONS`) : attributs de la première zone, nombre de
    cellules de l'emprise et de l'anneau, écarts moyens = Σ / nombre (``NaN`` sans cellule valide)."""
    nombre = len(operations)
    premier = pd.DataFrame({"operation_id": zones["operation_id"].to_numpy(),
                            "code_insee": zones["code_insee"].to_numpy() if "code_insee" in zones else None,
                            "statut": zones["statut"].to_numpy() if "statut" in zones else None}
                           ).drop_duplicates("operation_id").set_index("operation_id")
    table = pd.DataFrame({"operation_id": operations})
    table["code_insee"] = table["operation_id"].map(premier["code_insee"])
    table["statut"] = table["operation_id"].map(premier["statut"])
    table["cellules_emprise"] = np.bincount(numeros["emprise"][0], minlength=nombre)
    table["cellules_anneau"] = np.bincount(numeros["anneau"][0], minlength=nombre)
    for (nom, suffixe), (somme, compte) in sommes.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"delta_t_{nom}{suffixe}_c"] = np.where(compte > 0, somme / np.maximum(compte, 1), np.nan)
    return table.reindex(columns=COLONNES_OPERATIONS)


def estimer_score_site(zones: pd.DataFrame, parametres: ParametresChaleur | None = None) -> dict:
    """Score rapide d'une opération, sans grille : CC moyen pondéré par la surface avant et après,
    ΔT_local ≈ −ΔCC·UHI_max (°C). C'est une **estimation, sans brassage de l'air** (ni effet parc).

    ``zones`` : ``revetement_avant``, ``revetement_apres`` et ``surface_m2`` (ou une géométrie, surface
    calculée en Lambert-93). ET0 uniforme : ETI = kc.
    """
    parametres = parametres or ParametresChaleur.depuis_parametres()
    if not len(zones):
        raise ErreurDonnees("Opération sans zone : score de chaleur impossible.", "zones")
    if "surface_m2" in zones.columns and zones["surface_m2"].notna().all():
        surfaces = zones["surface_m2"].to_numpy(dtype=float)
    else:
        surfaces = projeter_lambert93(zones).geometry.area.to_numpy()
    if not surfaces.sum() > 0:
        raise ErreurDonnees("Opération de surface nulle : score de chaleur impossible.", "zones", "surface_m2")
    indexer_revetements(pd.concat([zones["revetement_avant"], zones["revetement_apres"]]))
    cc = {code: calculer_cc_revetement(code, parametres)
          for code in set(zones["revetement_avant"]) | set(zones["revetement_apres"])}
    cc_avant = float(np.average([cc[c] for c in zones["revetement_avant"]], weights=surfaces))
    cc_apres = float(np.average([cc[c] for c in zones["revetement_apres"]], weights=surfaces))
    delta_cc = cc_apres - cc_avant
    return {"cc_avant": cc_avant, "cc_apres": cc_apres, "delta_cc": delta_cc,
            "delta_t_local_c": -delta_cc * parametres.uhi_max_c, "surface_m2": float(surfaces.sum()),
            "estimation": True, "libelle": LIBELLE_ESTIMATION}


# ------------------------------------------------------------------------------------ cache


_CACHE: OrderedDict[str, ChaleurTerritoire] = OrderedDict()
_VERROU = threading.Lock()


def calculer_cle_chaleur(zones, signature_occupation: str, parametres: ParametresChaleur,
                         scenarios=tuple(SCENARIOS)) -> str:
    """Clé (sha256, 20 caractères) des entrées du calcul : géométries, revêtements et statuts des zones,
    signature de l'occupation du sol, paramètres, tables de revêtements et version du modèle."""
    empreinte = hashlib.sha256()
    for morceau in (VERSION_MODELE, signature_occupation, repr(parametres), repr(tuple(scenarios)),
                    lire_parametres_revetements().to_csv()):
        empreinte.update(str(morceau).encode("utf-8"))
    if len(zones):
        ordre = zones.sort_values("zone_id").index if "zone_id" in zones.columns else zones.index
        choisies = zones.loc[ordre]
        for colonne in ("operation_id", "revetement_avant", "revetement_apres", "statut"):
            empreinte.update(choisies[colonne].astype(str).str.cat(sep="|").encode("utf-8"))
        empreinte.update(b"".join(shapely.to_wkb(choisies.geometry.values, output_dimension=2)))
        empreinte.update(str(zones.crs).encode("utf-8"))
    return empreinte.hexdigest()[:20]


def lire_cache_memoire(cle: str) -> ChaleurTerritoire | None:
    """Résultat déjà calculé pour cette clé dans ce processus, ou ``None``."""
    with _VERROU:
        resultat = _CACHE.get(cle)
        if resultat is not None:
            _CACHE.move_to_end(cle)
        return resultat


def ecrire_cache_memoire(resultat: ChaleurTerritoire) -> None:
    """Garde le résultat en mémoire (les ``TAILLE_CACHE_MEMOIRE`` plus récents)."""
    with _VERROU:
        _CACHE[resultat.cle] = resultat
        _CACHE.move_to_end(resultat.cle)
        while len(_CACHE) > TAILLE_CACHE_MEMOIRE:
            _CACHE.popitem(last=False)


def lire_derniers_resultats() -> list[ChaleurTerritoire]:
    """Résultats en mémoire, du plus récent au plus ancien (bases possibles d'une mise à jour incrémentale)."""
    with _VERROU:
        return list(reversed(_CACHE.values()))


def vider_cache_memoire() -> None:
    with _VERROU:
        _CACHE.clear()


def calculer_chaleur_territoire(occupation: OccupationGrille, zones, parametres: ParametresChaleur,
                                signature_occupation: str, scenarios=tuple(SCENARIOS),
                                utiliser_cache: bool = True) -> ChaleurTerritoire:
    """Modèle sur tout le territoire pour chaque scénario, tables par commune et par opération.

    Résultat gardé en mémoire sous la clé :func:`calculer_cle_chaleur` : un nouvel appel avec les mêmes
    zones, la même occupation et les mêmes paramètres ne recalcule rien.
    """
    cle = calculer_cle_chaleur(zones, signature_occupation, parametres, scenarios)
    if utiliser_cache and (deja := lire_cache_memoire(cle)) is not None:
        return deja
    revetements = construire_scenarios(occupation, zones, scenarios)
    modele = ModeleChaleur(occupation.valide, occupation.grille.resolution, parametres, dtype=np.float64)
    resultats = {nom: modele.calculer_revetements(grille_rev, parametres.et0_mm_jour, parametres.et0_mm_jour,
                                                  garder_intermediaires=True)
                 for nom, grille_rev in revetements.items()}
    t_air = {nom: r.t_air for nom, r in resultats.items()}
    paires = indexer_cellules_operations(zones, occupation.grille, parametres)
    operations = (tabuler_chaleur_operations(t_air, zones, paires) if len(zones) and "sans_operations" in t_air
                  else pd.DataFrame(columns=COLONNES_OPERATIONS))
    resultat = ChaleurTerritoire(occupation.grille, t_air, agreger_chaleur_communes(t_air, occupation, parametres),
                                 operations, cle, parametres)
    # état gardé pour la mise à jour incrémentale (indicateurs.mise_a_jour) : grilles intermédiaires en double
    # précision, convolutions des masques (propres à la grille ; simple précision suffit : elles ne divisent que
    # les écarts, erreur relative 6e-8 sur ΔT) et paires (opération, cellule)
    masques = {nom: masque.astype(np.float32) for nom, masque in modele.convolueur.masques.items()}
    resultat.meta["etat"] = {
        "cle_globale": calculer_cle_chaleur(zones.iloc[:0], signature_occupation, parametres, scenarios),
        "zones": zones, "revetements": revetements, "paires": paires, "masques": masques,
        "surface_verte": {nom: r.surface_verte_px for nom, r in resultats.items()},
        "cc_parc": {nom: r.cc_parc for nom, r in resultats.items()}}
    if utiliser_cache:
        ecrire_cache_memoire(resultat)
    return resultat
