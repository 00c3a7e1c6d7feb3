"""Modèle XLSX d'import : feuilles « opérations », « zones » et « aide ».

En-têtes, aides et exemples viennent de la déclaration de l'opération (:mod:`donnees.modele_operation`,
par :data:`~donnees.import_operations.correspondance.CHAMPS`) ; les listes de codes (revêtements, types
de site, statuts) des nomenclatures.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from donnees import nomenclatures
from donnees.import_operations.correspondance import (
    AIDES_MODELE,
    ENTETES_OPERATIONS,
    ENTETES_ZONES,
    FEUILLE_AIDE,
    FEUILLE_OPERATIONS,
    FEUILLE_ZONES,
)

if TYPE_CHECKING:  # openpyxl n'est importé qu'à la génération du modèle
    from openpyxl.worksheet.worksheet import Worksheet

_VERT, _VERT_PALE = "2F6B4F", "DCEFE4"

_LIGNES_AIDE = [
    "Modèle d'import des opérations de désimperméabilisation (Désimper)",
    "1. Feuille « opérations » : une ligne par opération ; la ligne 1 (en-têtes) ne doit pas être modifiée.",
    ("2. Feuille « zones » : une ligne par zone (surface de revêtement homogène), avec la clé de son "
    "opération, son contour (WKT en WGS84) ou ses parcelles cadastrales, et ses revêtements avant/après."),
    "3. Codes : utilisez les codes ou les libellés des listes ci-contre (majuscules et accents indifférents).",
    "4. Dates : jj/mm/aaaa. Nombres : virgule ou point décimal. Surfaces inconnues : laissez vide.",
    "5. L'import vérifie chaque ligne et indique les erreurs (numéro de ligne, champ, correction).",
]


def _ecrire_entetes(feuille: Worksheet, colonnes: dict[str, str]) -> None:
    """Ligne d'en-têtes figée, avec l'aide de chaque colonne en commentaire."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    for rang, (champ, entete) in enumerate(colonnes.items(), start=1):
        cellule = feuille.cell(row=1, column=rang, value=entete)
        cellule.font, cellule.fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor=_VERT)
        cellule.alignment = Alignment(wrap_text=True, vertical="center")
        obligatoire, texte, exemple = AIDES_MODELE[champ]
        cellule.comment = Comment(f"{texte}\nObligatoire : {obligatoire}."
                                  + (f"\nExemple : {exemple}" if exemple else ""), "Désimper")
        feuille.column_dimensions[get_column_letter(rang)].width = max(14, min(45, len(entete) + 4))
    feuille.freeze_panes = "A2"
    feuille.row_dimensions[1].height = 32


def _ecrire_aide(aide: Worksheet) -> None:
    """Mode d'emploi puis une ligne par colonne (feuille, obligation, description, exemple)."""
    from openpyxl.styles import Font, PatternFill

    for rang, texte in enumerate(_LIGNES_AIDE, start=1):
        cellule = aide.cell(row=rang, column=1, value=texte)
        if rang == 1:
            cellule.font = Font(bold=True, size=13)
    debut = len(_LIGNES_AIDE) + 2
    for rang, titre in enumerate(("Colonne", "Feuille", "Obligatoire", "Description", "Exemple"), start=1):
        cellule = aide.cell(row=debut, column=rang, value=titre)
        cellule.font, cellule.fill = Font(bold=True), PatternFill("solid", fgColor=_VERT_PALE)
    ligne = debut + 1
    for feuille, colonnes in ((FEUILLE_OPERATIONS, ENTETES_OPERATIONS), (FEUILLE_ZONES, ENTETES_ZONES)):
        for champ, entete in colonnes.items():
            obligatoire, texte, exemple = AIDES_MODELE[champ]
            for rang, valeur in enumerate((entete, feuille, obligatoire, texte, exemple), start=1):
                aide.cell(row=ligne, column=rang, value=valeur)
            ligne += 1
    for lettre, largeur in zip("ABCDE", (38, 12, 16, 70, 40)):
        aide.column_dimensions[lettre].width = largeur


def _ecrire_listes(aide: Worksheet) -> dict[str, str]:
    """Listes de codes à droite de l'aide ; renvoie leurs plages (titre → référence) pour les listes déroulantes."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import column_index_from_string, get_column_letter

    revetements = nomenclatures.lire_revetements()
    listes = {
        "G": ("Revêtements", [(c, revetements.loc[c, "libelle"], "oui" if revetements.loc[c, "impermeable"]
                                else "non") for c in revetements.index], ("code", "libellé", "imperméable")),
        "K": ("Types de site", list(nomenclatures.lire_types_site().items()), ("code", "libellé")),
        "N": ("Statuts", list(nomenclatures.STATUTS.items()), ("code", "libellé")),
    }
    plages = {}
    for lettre, (titre, valeurs, titres) in listes.items():
        colonne = column_index_from_string(lettre)
        aide.cell(row=1, column=colonne, value=titre).font = Font(bold=True)
        for decalage, t in enumerate(titres):
            cellule = aide.cell(row=2, column=colonne + decalage, value=t)
            cellule.font, cellule.fill = Font(bold=True), PatternFill("solid", fgColor=_VERT_PALE)
            aide.column_dimensions[get_column_letter(colonne + decalage)].width = 22 if decalage == 0 else 40
        for rang, valeur in enumerate(valeurs, start=3):
            for decalage, v in enumerate(valeur):
                aide.cell(row=rang, column=colonne + decalage, value=str(v))
        plages[titre] = f"{FEUILLE_AIDE}!${lettre}$3:${lettre}${2 + len(valeurs)}"
    return plages


def _ajouter_liste(feuille: Worksheet, champ: str, colonnes: dict[str, str], plage: str) -> None:
    """Liste déroulante (non bloquante) sur la colonne d'un champ."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    lettre = get_column_letter(list(colonnes).index(champ) + 1)
    validation = DataValidation(type="list", formula1=f"={plage}", allow_blank=True, showErrorMessage=False)
    validation.add(f"{lettre}2:{lettre}2000")
    feuille.add_data_validation(validation)


def generer_modele_xlsx() -> bytes:
    """Modèle Excel d'import : feuilles « opérations », « zones » et « aide » (codes et libellés)."""
    from openpyxl import Workbook

    classeur = Workbook()
    operations = classeur.active
    operations.title = FEUILLE_OPERATIONS
    _ecrire_entetes(operations, ENTETES_OPERATIONS)
    zones = classeur.create_sheet(FEUILLE_ZONES)
    _ecrire_entetes(zones, ENTETES_ZONES)
    zones.column_dimensions["B"].width = 60
    aide = classeur.create_sheet(FEUILLE_AIDE)
    _ecrire_aide(aide)
    plages = _ecrire_listes(aide)
    _ajouter_liste(operations, "type_site", ENTETES_OPERATIONS, plages["Types de site"])
    _ajouter_liste(operations, "statut", ENTETES_OPERATIONS, plages["Statuts"])
    _ajouter_liste(zones, "revetement_avant", ENTETES_ZONES, plages["Revêtements"])
    _ajouter_liste(zones, "revetement_apres", ENTETES_ZONES, plages["Revêtements"])
    sortie = io.BytesIO()
    classeur.save(sortie)
    return sortie.getvalue()
