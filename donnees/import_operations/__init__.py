"""Import d'opérations depuis un fichier (GeoJSON, GeoPackage, Shapefile zippé, KML, CSV, XLSX).

Trois étapes, sans interface (la page Streamlit et la CLI les enchaînent) :

1. :func:`lire_fichier` lit le fichier en une :class:`TableImportee` (attributs, géométries en WGS84,
   numéros de ligne tels que l'utilisateur les voit) ; les problèmes qui empêchent toute lecture
   (format, taille, archive dangereuse, système de coordonnées inconnu) lèvent :class:`ErreurDonnees` ;
2. :func:`proposer_correspondance` associe les colonnes du fichier aux champs d'une opération ;
3. :func:`preparer_import` construit les opérations au format du magasin et une table des erreurs et
   avertissements par ligne, sans rien écrire ; :func:`importer` écrit ensuite, en une transaction
   (``importer_lot`` du magasin ou de la façade des droits : un arrêt brutal ne laisse rien).

Modules du paquet (l'API ci-dessous est réexportée ici, chemins d'import inchangés) :

- :mod:`.lecture` (octets, taille, format, :func:`lire_fichier`), :mod:`.sig` (GeoJSON, GeoPackage,
  Shapefile, KML par le lecteur commun :mod:`donnees.lecture_vecteur`), :mod:`.archives` (sécurité des
  ZIP), :mod:`.tableurs` (CSV, XLSX) ;
- :mod:`.valeurs` (nombres, dates, booléens, financements), :mod:`.codes` (statuts, types de site,
  revêtements en texte libre), :mod:`.geometries` (WKT, projections) ;
- :mod:`.correspondance` (champs importables et synonymes d'en-têtes, tirés de :mod:`donnees.modele_operation`) ;
- :mod:`.preparation`, :mod:`.controles`, :mod:`.apercu` (:func:`preparer_import`), :mod:`.seuils` (et les
  bornes de travail de ``limites_import.json`` : taille, lignes, sommets, durées, chacune justifiée) ;
- :mod:`.protocoles` (ce que l'écriture attend du magasin ou de la façade), :mod:`.ecriture`
  (:func:`importer`), :mod:`.modele_xlsx` (:func:`generer_modele_xlsx`).

Choix :

- géométrie invalide (contour qui se recoupe) : **erreur** par défaut, car la correction automatique
  peut changer la forme voulue (un « nœud papillon » devient deux triangles) ; avec
  ``corriger_geometries=True``, ``make_valid`` est appliqué et un avertissement invite à vérifier ;
- contrôles des zones (règles, seuils et codes de :mod:`donnees.zones`, les mêmes qu'au formulaire et à la
  façade ; code de règle dans la colonne ``regle`` des erreurs) ;
- zone à plus de 50 % hors de sa commune : **erreur** (code INSEE ou système de coordonnées faux) ;
  entre 10 et 50 % : avertissement ;
- chevauchement avec une autre zone du fichier ou une zone déjà enregistrée, surface < 1 m² ou
  > 10 ha, surface déclarée éloignée de plus de 10 % de la surface dessinée : avertissements ;
- financeurs : le magasin exige un montant par financement ; un texte « Financeur : montant ; … » ou
  « Financeur (montant €), … » où **chaque** financeur a un montant en euros devient des
  financements ; sinon le texte est gardé tel quel dans la description (« Financeurs : … ») ;
- année seule (« 2024 ») : date de fin des travaux fixée au 31/12 de l'année, avec avertissement,
  pour une opération réalisée ou une année à venir ; une année passée d'une opération programmée ou
  en travaux (année d'engagement, d'étude…) n'est pas une fin prévue : elle est seulement notée dans
  la description (« Année indiquée : … ») ; mois et année : dernier jour du mois ; une opération
  réalisée sans date ni année est refusée (la date n'est jamais inventée) ;
- statuts et types de site en texte libre (« programme engagé », « en travaux », « école »…) : table
  ``nomenclatures/correspondances_import.csv`` (expression → code, approximatif ou non) ; une
  expression sans code y est refusée avec son explication (« étude », « diagnostic » : pas des
  opérations) ;
- colonnes de précision (``precision_surface``, ``precision_cout``) : ajoutées à la description ;
  nature de la source (``type_source``) : entre parenthèses après la source ; un coût dit « TTC » est
  gardé tel quel (avertissement, aucune conversion) ;
- opérations sans géométrie (``localiser_au_centroide=True`` et couche des communes fournie) :
  carré de 10 m au centroïde de la commune, ``localisation_approximative=True``, revêtement avant =
  après (« enrobe ») ; les indicateurs et les modèles sur grille écartent ces emplacements
  (:func:`indicateurs.communs.ecarter_zones_approximatives`) ; la surface déclarée reste celle du
  fichier (vide si absente, jamais inventée), affichée mais pas comptée en m² désimperméabilisés ;
- commune absente de la couche des communes : ligne refusée (« hors du territoire ») ;
- opération déjà enregistrée (même commune, même nom, parmi celles que le compte voit) : ligne
  refusée ; réimporter un fichier en « lignes valides » n'ajoute que les nouvelles lignes ;
- la validation n'est pas importée : toute opération importée est « à valider » ;
- plusieurs lignes de même clé (colonne « opération »/« clé », sinon même nom et même commune)
  forment une seule opération à plusieurs zones ; les champs de l'opération sont pris sur la première
  ligne qui les renseigne (avertissement si une autre ligne diffère).
"""

from __future__ import annotations

from donnees.cadastre import MOTIF_CODE_INSEE as MOTIF_INSEE
from donnees.cadastre import MOTIF_ID_PARCELLE, MOTIF_REF_PARCELLE
from donnees.geometrie import CRS_CALCUL as CRS_L93
from donnees.import_operations.apercu import preparer_import
from donnees.import_operations.archives import (
    NB_MAX_FICHIERS_ARCHIVE,
    RATIO_MAX_COMPRESSION,
    TAILLE_MAX_DECOMPRESSEE,
    TAILLE_RATIO_CONTROLE,
    _extraire_archive,
    _ouvrir_archive,
)
from donnees.import_operations.codes import FICHIER_CORRESPONDANCES
from donnees.import_operations.correspondance import (
    AIDES_MODELE,
    CHAMPS,
    CHAMPS_IMPORT,
    CHAMPS_OBLIGATOIRES,
    CHAMPS_ZONE,
    ENTETES_OPERATIONS,
    ENTETES_ZONES,
    FEUILLE_AIDE,
    FEUILLE_OPERATIONS,
    FEUILLE_ZONES,
    SYNONYMES,
    ChampImport,
    proposer_correspondance,
)
from donnees.import_operations.ecriture import MODES, importer, importer_fichier
from donnees.import_operations.lecture import (
    FORMATS,
    FORMATS_ACCEPTES,
    TAILLE_MAX_FICHIER,
    lire_fichier,
)
from donnees.import_operations.modele_xlsx import generer_modele_xlsx
from donnees.import_operations.protocoles import (
    Droits,
    FacadeParLot,
    FacadeUneParUne,
    MagasinParLot,
    MagasinUneParUne,
    autoriser_creation,
)
from donnees.import_operations.seuils import (
    CHEVAUCHEMENT_MIN_M2,
    COTE_EMPLACEMENT_M,
    ECART_SURFACE_DECLAREE,
    PART_ALERTE_HORS_COMMUNE,
    PART_MAX_HORS_COMMUNE,
    PAS_EMPLACEMENT_M,
    REVETEMENT_EMPLACEMENT,
    SURFACE_MAX_M2,
    SURFACE_MIN_M2,
)
from donnees.import_operations.tables import ApercuImport, RapportImport, TableImportee
from donnees.import_operations.valeurs import (
    ANNEE_MAX,
    ANNEE_MIN,
    _date,
    _financements,
    _nombre,
    _normaliser,
)

__all__ = [
    "AIDES_MODELE",
    "ANNEE_MAX",
    "ANNEE_MIN",
    "CHAMPS",
    "CHAMPS_IMPORT",
    "CHAMPS_OBLIGATOIRES",
    "CHAMPS_ZONE",
    "CHEVAUCHEMENT_MIN_M2",
    "COTE_EMPLACEMENT_M",
    "CRS_L93",
    "ECART_SURFACE_DECLAREE",
    "ENTETES_OPERATIONS",
    "ENTETES_ZONES",
    "FEUILLE_AIDE",
    "FEUILLE_OPERATIONS",
    "FEUILLE_ZONES",
    "FICHIER_CORRESPONDANCES",
    "FORMATS",
    "FORMATS_ACCEPTES",
    "MODES",
    "MOTIF_ID_PARCELLE",
    "MOTIF_INSEE",
    "MOTIF_REF_PARCELLE",
    "NB_MAX_FICHIERS_ARCHIVE",
    "PART_ALERTE_HORS_COMMUNE",
    "PART_MAX_HORS_COMMUNE",
    "PAS_EMPLACEMENT_M",
    "RATIO_MAX_COMPRESSION",
    "REVETEMENT_EMPLACEMENT",
    "SURFACE_MAX_M2",
    "SURFACE_MIN_M2",
    "SYNONYMES",
    "TAILLE_MAX_DECOMPRESSEE",
    "TAILLE_MAX_FICHIER",
    "TAILLE_RATIO_CONTROLE",
    "ApercuImport",
    "ChampImport",
    "Droits",
    "FacadeParLot",
    "FacadeUneParUne",
    "MagasinParLot",
    "MagasinUneParUne",
    "RapportImport",
    "TableImportee",
    "_date",
    "_extraire_archive",
    "_financements",
    "_nombre",
    "_normaliser",
    "_ouvrir_archive",
    "autoriser_creation",
    "generer_modele_xlsx",
    "importer",
    "importer_fichier",
    "lire_fichier",
    "preparer_import",
    "proposer_correspondance",
]
