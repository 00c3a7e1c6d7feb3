"""Tables lues et résultats de l'import : fichier lu, aperçu préparé, rapport d'écriture."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from donnees.geometrie import CRS_STOCKAGE

# ------------------------------------------------------------------------------- dataclasses


@dataclass
class TableImportee:
    """Contenu d'un fichier lu : attributs, géométries WGS84 et numéros de ligne vus par l'utilisateur."""

    nom_fichier: str
    format: str
    donnees: pd.DataFrame
    numeros: list[int]
    geometries: list | None = None
    unite: str = "ligne"
    feuille: str | None = None
    zones: TableImportee | None = None
    crs_source: str | None = None
    crs_wkt: str = CRS_STOCKAGE
    couche: str | None = None
    encodage: str | None = None
    separateur: str | None = None
    avertissements: list[str] = field(default_factory=list)
    problemes: list[dict] = field(default_factory=list)

    @property
    def colonnes(self) -> list[str]:
        """Colonnes d'attributs du fichier."""
        return [str(c) for c in self.donnees.columns]

    @property
    def a_geometrie(self) -> bool:
        """Vrai pour les formats SIG (géométrie native)."""
        return self.geometries is not None

    def __len__(self) -> int:
        return len(self.donnees)


@dataclass
class ApercuImport:
    """Résultat de :func:`preparer_import` : opérations valides, erreurs par ligne, aperçu."""

    nom_fichier: str
    operations: list[dict]
    erreurs: pd.DataFrame
    lignes_valides: list[int]
    lignes_en_erreur: list[int]
    apercu: gpd.GeoDataFrame
    correspondance: dict[str, str]
    nb_operations: int = 0
    lignes_operations: list[list[int]] = field(default_factory=list)

    @property
    def nb_erreurs(self) -> int:
        return int((self.erreurs["niveau"] == "erreur").sum()) if len(self.erreurs) else 0

    @property
    def nb_avertissements(self) -> int:
        return int((self.erreurs["niveau"] == "avertissement").sum()) if len(self.erreurs) else 0

    @property
    def a_des_erreurs(self) -> bool:
        return self.nb_erreurs > 0

    def resume(self, nb_messages: int = 20) -> str:
        """Résumé en français (pour la CLI) : comptes puis premiers messages (erreurs d'abord)."""
        lignes = [(f"{self.nom_fichier} : {self.nb_operations} opération(s) lue(s), {len(self.operations)} "
                  f"valide(s) ; {self.nb_erreurs} erreur(s), {self.nb_avertissements} avertissement(s).")]
        ordre = self.erreurs.assign(_erreur=self.erreurs["niveau"].ne("erreur")) \
            .sort_values("_erreur", kind="stable") if len(self.erreurs) else self.erreurs
        for message in ordre["message"].head(nb_messages):  # les erreurs d'abord, puis les avertissements
            lignes.append(f"- {message}")
        if len(self.erreurs) > nb_messages:
            lignes.append(f"… et {len(self.erreurs) - nb_messages} autre(s) message(s).")
        return "\n".join(lignes)


@dataclass
class RapportImport:
    """Résultat de :func:`importer`."""

    mode: str
    ecrit: bool
    identifiants: list[int]
    lignes_importees: list[int]
    lignes_refusees: list[int]
    message: str
    erreurs: pd.DataFrame

    @property
    def nb_operations(self) -> int:
        return len(self.identifiants)


