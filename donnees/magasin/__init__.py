"""Magasin des saisies : opérations, zones, financements, photos, utilisateurs et journal.

SQLite par défaut (fichier du dossier de données, WAL et clés étrangères), PostgreSQL + PostGIS quand
l'URL est ``postgresql+psycopg://…``. Les zones sont stockées en WGS84 (EPSG:4326) ; leur surface est
calculée à l'écriture en Lambert-93 (EPSG:2154), jamais fournie par l'utilisateur.

Toute écriture d'une opération (avec ses zones, financements et photos) se fait en **une** transaction,
avec verrouillage optimiste (colonne ``version``) et exactement une ligne de journal par changement.
Les saisies sont vérifiées avant toute écriture : la moindre anomalie lève :class:`ErreurDonnees`
avec un message en français qui nomme le champ et dit quoi corriger.

Les horodatages sont enregistrés en UTC, sans fuseau. Le schéma évolue par migrations Alembic
(``migrations/``), appliquées par :meth:`Magasin.creer_tables` / :meth:`Magasin.mettre_a_niveau`.

Les champs de l'opération, leurs libellés et leurs contrôles (``verifier_operation``) sont déclarés
une fois dans :mod:`donnees.modele_operation` ; la table ``operation`` en tire ses colonnes.

Modules : ``tables`` (métadonnées, moteur), ``convertisseurs`` (champs des comptes), ``operations``,
``comptes``, ``journal``, ``schema`` (migrations), ``noyau`` (la classe :class:`Magasin`), ``commandes``
(``desimper base …``).
"""

from donnees.cadastre import MOTIF_CODE_INSEE as MOTIF_INSEE
from donnees.cadastre import MOTIF_ID_PARCELLE as MOTIF_PARCELLE
from donnees.erreurs import ErreurDonnees
from donnees.magasin.convertisseurs import LIBELLES, MOTIF_EMAIL
from donnees.magasin.noyau import Magasin
from donnees.magasin.operations import (
    PRECISION_WKT,
    TAILLE_PAQUET_IMPORT,
    ConflitVersion,
    OperationIntrouvable,
)
from donnees.magasin.schema import REVISION_INITIALE, revision_tete
from donnees.magasin.tables import (
    ACTIONS_JOURNAL,
    SRID_STOCKAGE,
    TABLES,
    Geometrie,
    metadonnees,
    table_estimation_site,
    table_financement,
    table_journal,
    table_operation,
    table_photo,
    table_session,
    table_utilisateur,
    table_zone,
)
from donnees.modele_operation import (
    CHAMPS_CREATION,
    CHAMPS_LECTURE_SEULE,
    CHAMPS_LISTES,
    CHAMPS_SAISIE,
    CHAMPS_SCALAIRES,
    verifier_operation,
)

__all__ = [
    "ACTIONS_JOURNAL",
    "CHAMPS_CREATION",
    "CHAMPS_LECTURE_SEULE",
    "CHAMPS_LISTES",
    "CHAMPS_SAISIE",
    "CHAMPS_SCALAIRES",
    "LIBELLES",
    "MOTIF_EMAIL",
    "MOTIF_INSEE",
    "MOTIF_PARCELLE",
    "PRECISION_WKT",
    "REVISION_INITIALE",
    "SRID_STOCKAGE",
    "TABLES",
    "TAILLE_PAQUET_IMPORT",
    "ConflitVersion",
    "ErreurDonnees",
    "Geometrie",
    "Magasin",
    "OperationIntrouvable",
    "metadonnees",
    "revision_tete",
    "table_estimation_site",
    "table_financement",
    "table_journal",
    "table_operation",
    "table_photo",
    "table_session",
    "table_utilisateur",
    "table_zone",
    "verifier_operation",
]
