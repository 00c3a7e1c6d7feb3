"""Modèles pydantic des fichiers JSON du projet : ``territoire.json``, ``sources.json``, réglages des comptes.

Chaque fichier est décrit une fois ici ; les lecteurs (:func:`donnees.referentiel.lire_territoire`,
:func:`donnees.sources.lire_sources`, :func:`donnees.comptes.lire_parametres_comptes`) le valident par
:func:`donnees.validation.valider_json`, qui traduit les erreurs en français. Les clés supplémentaires sont
gardées (``extra="allow"``) : un fichier écrit par une version plus récente reste lisible.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt


class Territoire(BaseModel):
    """``territoire.json`` : nom, codes INSEE, démonstration ou non, paramètres surchargés, sources.

    Les codes INSEE sont contrôlés à l'initialisation (:func:`donnees.territoire.lire_codes_insee`) et les
    paramètres par :func:`indicateurs.parametres.lire_parametres` (bornes de ``modele.csv``) : une règle,
    un seul endroit.
    """

    model_config = ConfigDict(extra="allow")

    nom: str = Field(min_length=1, description="Nom du territoire affiché dans l'application")
    codes_insee: list[str] = Field(description="Codes INSEE des communes du territoire")
    demo: bool = Field(True, description="Vrai pour le territoire de démonstration")
    parametres: dict[str, Any] | None = Field(default_factory=dict, description="Surcharges des paramètres de modèle")
    sources_parametres: dict[str, Any] | None = Field(default_factory=dict, description="Source de chaque surcharge")
    potentiel: dict[str, Any] | None = Field(default_factory=dict,
                                             description="Surcharges des règles du score de potentiel")
    sources_potentiel: dict[str, Any] | None = Field(default_factory=dict,
                                                     description="Source de chaque règle du potentiel surchargée")
    sources: dict[str, str] | None = Field(default_factory=dict, description="Adresses de base des sources de données")
    graine: int | None = Field(None, description="Graine du générateur de démonstration")
    taille: str | None = Field(None, description="Taille de la démonstration (petite, complete…)")


class FicheSource(BaseModel):
    """Fiche d'une couche dans ``sources.json`` (voir :mod:`donnees.sources`)."""

    model_config = ConfigDict(extra="allow")

    couche: str
    libelle: str
    source: str
    producteur: str
    licence: str
    url_licence: str | None = None
    attribution: str
    origine: Literal["telechargement", "fichier", "demonstration"]
    urls: list[str] = Field(default_factory=list)
    fichiers: list[str] = Field(default_factory=list)
    millesime: str | None = None
    importe_le: str
    nombre: int = Field(ge=0)
    par_commune: dict[str, int] = Field(default_factory=dict)
    demo: bool = False


class Sources(RootModel[dict[str, FicheSource]]):
    """``sources.json`` : une fiche par couche."""


class ParametresComptes(BaseModel):
    """``donnees/parametres_comptes.json`` : politique des mots de passe, blocage, session (entiers ≥ 1)."""

    model_config = ConfigDict(extra="allow")

    longueur_min_mot_de_passe: StrictInt = Field(ge=1)
    longueur_max_mot_de_passe: StrictInt = Field(ge=1)
    echecs_avant_blocage: StrictInt = Field(ge=1)
    duree_blocage_minutes: StrictInt = Field(ge=1)
    duree_inactivite_session_minutes: StrictInt = Field(ge=1)
    duree_absolue_session_heures: StrictInt = Field(ge=1)
    intervalle_activite_session_secondes: StrictInt = Field(ge=1)
    justification: dict[str, str] = Field(default_factory=dict)


MOTIF_CODE_TERRITOIRE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class EntreeTerritoire(BaseModel):
    """Un territoire du registre ``instance.json`` (voir :mod:`donnees.instance`)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(pattern=MOTIF_CODE_TERRITOIRE, max_length=40,
                      description="Code court ASCII (minuscules, chiffres, tirets) : ?territoire=code, --territoire")
    nom: str = Field(min_length=1, description="Nom affiché dans le sélecteur de territoire")
    dossier: str = Field(min_length=1, description="Dossier de données, relatif au dossier de l'instance ou absolu")
    base_url: str | None = Field(None, description="URL SQLAlchemy de sa base (PostgreSQL : une base ou un schéma "
                                                   "par territoire), ou « $VARIABLE » lue dans l'environnement ; "
                                                   "absente : SQLite dans son dossier")


class Instance(BaseModel):
    """``instance.json`` : territoires hébergés par une même instance et territoire ouvert par défaut."""

    model_config = ConfigDict(extra="allow")

    territoires: list[EntreeTerritoire] = Field(min_length=1, description="Territoires de l'instance")
    defaut: str | None = Field(None, description="Code du territoire ouvert par défaut (sinon le premier)")
