"""Modèle XLSX d'import : feuilles « opérations », « zones » et « aide »."""

from __future__ import annotations

import io


from donnees import nomenclatures
from donnees.import_operations.correspondance import ENTETES_OPERATIONS, ENTETES_ZONES, FEUILLE_AIDE, FEUILLE_OPERATIONS, FEUILLE_ZONES


# ------------------------------------------------------------------------------- modèle XLSX


def generer_modele_xlsx() -> bytes:
    """Modèle Excel d'import : feuilles « opérations », « zones » et « aide » (codes et libellés)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    classeur = Workbook()
    gras = Font(bold=True, color="FFFFFF")
    fond = PatternFill("solid", fgColor="2F6B4F")
    fond_aide = PatternFill("solid", fgColor="DCEFE4")
    aides_colonnes = {
        "cle_operation": ("oui si plusieurs zones", "Identifiant libre de l'opération (ex. OP1), recopié dans "
                          "la feuille « zones » pour chaque zone.", "OP1"),
        "code_insee": ("oui", "Code INSEE de la commune, 5 caractères.", "34301"),
        "nom": ("oui", "Nom de l'opération.", "Cour de l'école Jules-Ferry"),
        "type_site": ("oui", "Code ou libellé du type de site (liste ci-contre).", "cour_ecole"),
        "statut": ("oui", "Code ou libellé du statut (liste ci-contre).", "realisee"),
        "date_fin_travaux": ("si réalisée", "Date de fin des travaux, jj/mm/aaaa (ou l'année seule).",
                             "15/09/2023"),
        "cout_ht_eur": ("non", "Coût hors taxes en euros.", "120000"),
        "financements": ("non", "Financeurs et montants : « financeur : montant » séparés par « ; ».",
                         "Agence de l'eau : 50000 ; Région : 20000"),
        "surface_declaree_m2": ("non", "Surface annoncée (m²). Laissez vide si inconnue.", "850"),
        "arbres_plantes": ("non", "Nombre d'arbres plantés.", "4"),
        "deconnexion_reseau": ("non", "Eaux de pluie déconnectées du réseau : oui ou non.", "oui"),
        "volume_stockage_m3": ("non", "Volume de stockage des eaux de pluie (m³).", "12"),
        "maitre_ouvrage": ("non", "Maître d'ouvrage.", "Ville de Sète"),
        "description": ("non", "Ce qui a été fait.", ""),
        "retour_experience": ("non", "Difficultés, conseils.", ""),
        "contact": ("non", "Personne à contacter.", ""),
        "source": ("non", "Source de l'information (URL, délibération…).", ""),
        "geometrie_wkt": ("une des deux", "Contour en WKT, longitude/latitude WGS84 (EPSG:4326).",
                          "POLYGON((3.6935 43.4030, 3.6945 43.4030, 3.6945 43.4037, 3.6935 43.4030))"),
        "parcelles": ("une des deux", "Références cadastrales de la commune, séparées par des virgules "
                      "(« AB 123 » ou identifiant à 14 caractères).", "AB 123, AB 124"),
        "revetement_avant": ("oui", "Code ou libellé du revêtement avant travaux (liste ci-contre).", "enrobe"),
        "revetement_apres": ("oui", "Code ou libellé du revêtement après travaux (liste ci-contre).", "pelouse"),
    }

    def entetes(feuille, colonnes: dict[str, str]) -> None:
        for rang, (champ, entete) in enumerate(colonnes.items(), start=1):
            cellule = feuille.cell(row=1, column=rang, value=entete)
            cellule.font, cellule.fill = gras, fond
            cellule.alignment = Alignment(wrap_text=True, vertical="center")
            obligatoire, texte, exemple = aides_colonnes[champ]
            cellule.comment = Comment(f"{texte}\nObligatoire : {obligatoire}."
                                      + (f"\nExemple : {exemple}" if exemple else ""), "Désimper")
            feuille.column_dimensions[get_column_letter(rang)].width = max(14, min(45, len(entete) + 4))
        feuille.freeze_panes = "A2"
        feuille.row_dimensions[1].height = 32

    operations = classeur.active
    operations.title = FEUILLE_OPERATIONS
    entetes(operations, ENTETES_OPERATIONS)
    zones = classeur.create_sheet(FEUILLE_ZONES)
    entetes(zones, ENTETES_ZONES)
    zones.column_dimensions["B"].width = 60

    aide = classeur.create_sheet(FEUILLE_AIDE)
    lignes_aide = [
        "Modèle d'import des opérations de désimperméabilisation (Désimper)",
        "1. Feuille « opérations » : une ligne par opération ; la ligne 1 (en-têtes) ne doit pas être modifiée.",
        "2. Feuille « zones » : une ligne par zone (surface de revêtement homogène), avec la clé de son "
        "opération, son contour (WKT en WGS84) ou ses parcelles cadastrales, et ses revêtements avant/après.",
        "3. Codes : utilisez les codes ou les libellés des listes ci-contre (majuscules et accents indifférents).",
        "4. Dates : jj/mm/aaaa. Nombres : virgule ou point décimal. Surfaces inconnues : laissez vide.",
        "5. L'import vérifie chaque ligne et indique les erreurs (numéro de ligne, champ, correction).",
    ]
    for rang, texte in enumerate(lignes_aide, start=1):
        cellule = aide.cell(row=rang, column=1, value=texte)
        if rang == 1:
            cellule.font = Font(bold=True, size=13)
    debut = len(lignes_aide) + 2
    for rang, titre in enumerate(("Colonne", "Feuille", "Obligatoire", "Description", "Exemple"), start=1):
        cellule = aide.cell(row=debut, column=rang, value=titre)
        cellule.font, cellule.fill = Font(bold=True), fond_aide
    ligne = debut + 1
    for feuille, colonnes in ((FEUILLE_OPERATIONS, ENTETES_OPERATIONS), (FEUILLE_ZONES, ENTETES_ZONES)):
        for champ, entete in colonnes.items():
            obligatoire, texte, exemple = aides_colonnes[champ]
            for rang, valeur in enumerate((entete, feuille, obligatoire, texte, exemple), start=1):
                aide.cell(row=ligne, column=rang, value=valeur)
            ligne += 1
    for lettre, largeur in zip("ABCDE", (38, 12, 16, 70, 40)):
        aide.column_dimensions[lettre].width = largeur

    revetements = nomenclatures.lire_revetements()
    listes = {
        "G": ("Revêtements", [(c, revetements.loc[c, "libelle"], "oui" if revetements.loc[c, "impermeable"]
                                else "non") for c in revetements.index], ("code", "libellé", "imperméable")),
        "K": ("Types de site", list(nomenclatures.lire_types_site().items()), ("code", "libellé")),
        "N": ("Statuts", list(nomenclatures.STATUTS.items()), ("code", "libellé")),
    }
    plages = {}
    from openpyxl.utils import column_index_from_string
    for lettre, (titre, valeurs, titres) in listes.items():
        colonne = column_index_from_string(lettre)
        aide.cell(row=1, column=colonne, value=titre).font = Font(bold=True)
        for decalage, t in enumerate(titres):
            cellule = aide.cell(row=2, column=colonne + decalage, value=t)
            cellule.font, cellule.fill = Font(bold=True), fond_aide
            aide.column_dimensions[get_column_letter(colonne + decalage)].width = 22 if decalage == 0 else 40
        for rang, valeur in enumerate(valeurs, start=3):
            for decalage, v in enumerate(valeur):
                aide.cell(row=rang, column=colonne + decalage, value=str(v))
        plages[titre] = f"{FEUILLE_AIDE}!${lettre}$3:${lettre}${2 + len(valeurs)}"

    def liste(feuille, champ: str, colonnes: dict[str, str], plage: str) -> None:
        lettre = get_column_letter(list(colonnes).index(champ) + 1)
        validation = DataValidation(type="list", formula1=f"={plage}", allow_blank=True, showErrorMessage=False)
        validation.add(f"{lettre}2:{lettre}2000")
        feuille.add_data_validation(validation)

    liste(operations, "type_site", ENTETES_OPERATIONS, plages["Types de site"])
    liste(operations, "statut", ENTETES_OPERATIONS, plages["Statuts"])
    liste(zones, "revetement_avant", ENTETES_ZONES, plages["Revêtements"])
    liste(zones, "revetement_apres", ENTETES_ZONES, plages["Revêtements"])

    sortie = io.BytesIO()
    classeur.save(sortie)
    return sortie.getvalue()
