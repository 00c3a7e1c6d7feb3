"""Lecture des tableurs : CSV (encodage, séparateur) et classeurs XLSX (feuilles « opérations » et « zones »)."""

from __future__ import annotations

import codecs
import csv
import io
import logging
from typing import Any

import pandas as pd

from donnees.import_operations.archives import _ouvrir_archive
from donnees.import_operations.correspondance import FEUILLE_OPERATIONS
from donnees.import_operations.seuils import limite, refuser_lignes
from donnees.import_operations.tables import TableImportee
from donnees.import_operations.valeurs import _est_vide, _normaliser
from donnees.lecture_vecteur import lire_systeme, nettoyer_exception
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from donnees.geometrie import CRS_STOCKAGE

# ------------------------------------------------------------------------------- lecture : CSV

logger = logging.getLogger(__name__)


def _decoder(octets: bytes) -> tuple[str, str]:
    if octets.startswith(codecs.BOM_UTF8):
        try:
            return octets[len(codecs.BOM_UTF8):].decode("utf-8"), "UTF-8 (avec BOM)"
        except UnicodeDecodeError:
            pass
    if octets.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return octets.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    for encodage, libelle in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return octets.decode(encodage), libelle
        except UnicodeDecodeError:
            continue
    return octets.decode("latin-1"), "Latin-1 (ISO-8859-1)"


def _detecter_separateur(texte: str) -> str:
    echantillon = texte[:65536]
    if len(texte) > len(echantillon) and "\n" in echantillon:
        echantillon = echantillon[:echantillon.rfind("\n")]
    meilleur, score_meilleur = ",", (-1.0, 0)
    for separateur in (";", "\t", ",", "|"):
        try:
            lignes = [r for r in csv.reader(io.StringIO(echantillon), delimiter=separateur)
                      if any(c.strip() for c in r)][:50]
        except csv.Error:
            continue
        if not lignes or len(lignes[0]) < 2:
            continue
        n = len(lignes[0])
        regulieres = sum(1 for r in lignes[1:] if len(r) == n) / max(len(lignes) - 1, 1)
        score = (regulieres, n)
        if score > score_meilleur:
            meilleur, score_meilleur = separateur, score
    return meilleur


def _entetes(brutes: list[Any]) -> list[str]:
    entetes: list[str] = []
    for rang, valeur in enumerate(brutes, start=1):
        texte = "" if _est_vide(valeur) else str(valeur).strip().lstrip("\ufeff")
        texte = texte or f"colonne_{rang}"
        base, suffixe = texte, 2
        while texte in entetes:
            texte = f"{base} ({suffixe})"
            suffixe += 1
        entetes.append(texte)
    return entetes


def _lire_csv(octets: bytes, nom: str, crs_declare: str | None) -> TableImportee:
    texte, encodage = _decoder(octets)
    if not texte.strip():
        raise ErreurDonnees(f"{nom} : fichier vide.", "import", "fichier")
    separateur = _detecter_separateur(texte)
    lecteur = csv.reader(io.StringIO(texte, newline=""), delimiter=separateur)
    try:
        entete_brute = next(lecteur)
        while not any(c.strip() for c in entete_brute):
            entete_brute = next(lecteur)
    except StopIteration:
        raise ErreurDonnees(f"{nom} : fichier vide.", "import", "fichier") from None
    except csv.Error as exc:
        raise ErreurDonnees(f"{nom} : CSV illisible ({exc}).", "import", "fichier") from None
    entetes = _entetes(entete_brute)
    lignes, numeros, problemes = [], [], []
    fin_precedente = lecteur.line_num
    maximum = int(limite("lignes_max_fichier"))
    nom_sep = {";": "point-virgule", ",": "virgule", "\t": "tabulation", "|": "barre verticale"}[separateur]
    while True:
        try:
            ligne = next(lecteur)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):  # borne du module csv (131 072 caractères)
                raise ErreurDonnees(
                    f"{nom}, ligne {fin_precedente + 1} : une cellule dépasse "
                    f"{formater_nombre(csv.field_size_limit())} caractères (géométrie WKT trop détaillée ?). "
                    "Simplifiez le contour dans votre SIG (outil "
                    f"« Simplifier », tolérance 0,5 m) : au plus {formater_nombre(limite('sommets_max_geometrie'))} "
                    "sommets par zone.", "import", "geometrie_wkt") from None
            raise ErreurDonnees(f"{nom}, ligne {lecteur.line_num} : CSV illisible ({exc}). Vérifiez les "
                                "guillemets.", "import", "fichier") from None
        numero = fin_precedente + 1
        fin_precedente = lecteur.line_num
        if not any(c.strip() for c in ligne):
            continue
        if len(ligne) > len(entetes) and any(c.strip() for c in ligne[len(entetes):]):
            problemes.append({"ligne": numero, "champ": None, "niveau": "erreur", "message":
                              f"{nom}, ligne {numero} : {len(ligne)} valeurs pour {len(entetes)} colonnes "
                              f"(séparateur détecté : {nom_sep}). Une valeur contient-elle le séparateur "
                              "sans guillemets (nombre à virgule, géométrie WKT) ? Entourez-la de "
                              "guillemets."})
        valeurs = [v.strip() for v in ligne[:len(entetes)]] + [""] * (len(entetes) - len(ligne))
        lignes.append([v if v else None for v in valeurs])
        numeros.append(numero)
        if len(lignes) > maximum:  # refus dès la ligne de trop, sans lire la suite
            raise refuser_lignes(nom, f"plus de {formater_nombre(maximum)}", "lignes de données")
    donnees = pd.DataFrame(lignes, columns=entetes, dtype=object) if lignes else \
        pd.DataFrame({c: pd.Series(dtype=object) for c in entetes})
    crs = lire_systeme(crs_declare, nom)
    return TableImportee(nom_fichier=nom, format="csv", donnees=donnees, numeros=numeros,
                         crs_wkt=crs.to_string() if crs else CRS_STOCKAGE, encodage=encodage,
                         separateur=separateur, problemes=problemes)


# ------------------------------------------------------------------------------- lecture : XLSX


def _borner_lignes_parcourues(numero: int, maximum: int, nom: str, nom_feuille: str) -> None:
    """Refus d'une feuille dont la dernière cellule remplie est au-delà de ``maximum`` lignes (vides comprises)."""
    if numero > maximum:
        raise ErreurDonnees(
            f"{nom}, feuille « {nom_feuille} » : feuille refusée, plus de {formater_nombre(maximum)} lignes à "
            "parcourir (lignes vides comprises) : une cellule remplie ou mise en forme se trouve très loin sous le "
            "tableau. Supprimez les lignes sous le tableau (ou copiez le tableau seul dans un nouveau classeur), "
            "puis enregistrez-le à nouveau.", "import", "fichier")


def _lire_feuille(feuille, nom: str, nom_feuille: str) -> tuple[pd.DataFrame, list[int]]:
    iterateur = feuille.iter_rows(values_only=True)
    entete_brute = None
    numero = 0
    parcourues = int(limite("lignes_max_parcourues_feuille"))
    for ligne in iterateur:
        numero += 1
        _borner_lignes_parcourues(numero, parcourues, nom, nom_feuille)
        if any(not _est_vide(v) for v in ligne):
            entete_brute = list(ligne)
            break
    if entete_brute is None:
        return pd.DataFrame(), []
    while entete_brute and _est_vide(entete_brute[-1]):
        entete_brute.pop()
    entetes = _entetes(entete_brute)
    lignes, numeros = [], []
    maximum = int(limite("lignes_max_fichier"))
    for ligne in iterateur:
        numero += 1
        _borner_lignes_parcourues(numero, parcourues, nom, nom_feuille)
        valeurs = list(ligne[:len(entetes)]) + [None] * max(0, len(entetes) - len(ligne))
        valeurs = [None if _est_vide(v) else (v.strip() if isinstance(v, str) else v) for v in valeurs]
        if all(v is None for v in valeurs):
            continue
        lignes.append(valeurs)
        numeros.append(numero)
        if len(lignes) > maximum:  # refus dès la ligne de trop, sans lire la suite
            raise refuser_lignes(f"{nom}, feuille « {nom_feuille} »", f"plus de {formater_nombre(maximum)}",
                                 "lignes de données")
    donnees = pd.DataFrame(lignes, columns=entetes, dtype=object) if lignes else \
        pd.DataFrame({c: pd.Series(dtype=object) for c in entetes})
    return donnees, numeros


def _lire_xlsx(octets: bytes, nom: str, crs_declare: str | None) -> TableImportee:
    import openpyxl

    _ouvrir_archive(octets, nom, profondeur_max=None,
                    illisible=f"{nom} : classeur Excel illisible ou corrompu. Ouvrez-le dans Excel ou "
                              "LibreOffice et enregistrez-le à nouveau au format .xlsx.").close()
    try:
        classeur = openpyxl.load_workbook(io.BytesIO(octets), read_only=True, data_only=True)
    except Exception as exc:  # classeur corrompu : toute erreur d'openpyxl devient un message, consignée
        raise _classeur_illisible(nom, exc) from None
    try:
        return _lire_classeur(classeur, nom, crs_declare)
    except ErreurDonnees:
        raise
    except Exception as exc:  # XML hostile (entités, XXE) ou corrompu, lu feuille par feuille : même refus
        raise _classeur_illisible(nom, exc) from None
    finally:
        classeur.close()


def _classeur_illisible(nom: str, exc: BaseException) -> ErreurDonnees:
    """Refus d'un classeur qu'openpyxl ne lit pas, consigné au niveau « info » sans trace (la CLI afficherait
    un avertissement ou une trace sur sa sortie d'erreur, en plus du message)."""
    logger.info("Import : classeur %s illisible par openpyxl (%s).", nom, nettoyer_exception(exc))
    logger.debug("Import : trace de la lecture du classeur %s.", nom, exc_info=True)
    return ErreurDonnees(f"{nom} : classeur Excel illisible ({nettoyer_exception(exc)}). Enregistrez-le "
                         "à nouveau au format .xlsx.", "import", "fichier")


def _lire_classeur(classeur, nom: str, crs_declare: str | None) -> TableImportee:
    """Feuille principale (« opérations », sinon la première) et feuille « zones » d'un classeur ouvert."""
    par_nom = {_normaliser(f): f for f in classeur.sheetnames}
    principale = par_nom.get("operations")
    if principale is None:
        autres = [f for f in classeur.sheetnames if _normaliser(f) not in ("aide", "zones")]
        if not autres:
            raise ErreurDonnees(f"{nom} : aucune feuille de données (feuille « {FEUILLE_OPERATIONS} » "
                                "attendue).", "import", "fichier")
        principale = autres[0]
    donnees, numeros = _lire_feuille(classeur[principale], nom, principale)
    zones = None
    if "zones" in par_nom and par_nom["zones"] != principale:
        donnees_zones, numeros_zones = _lire_feuille(classeur[par_nom["zones"]], nom, par_nom["zones"])
        if len(donnees_zones):
            zones = TableImportee(nom_fichier=nom, format="xlsx", donnees=donnees_zones,
                                  numeros=numeros_zones, feuille=par_nom["zones"])
    if not len(donnees.columns):
        raise ErreurDonnees(f"{nom} : la feuille « {principale} » est vide (la ligne 1 doit contenir les "
                            "en-têtes).", "import", "fichier")
    crs = lire_systeme(crs_declare, nom)
    crs_wkt = crs.to_string() if crs else CRS_STOCKAGE
    if zones is not None:
        zones.crs_wkt = crs_wkt
    return TableImportee(nom_fichier=nom, format="xlsx", donnees=donnees, numeros=numeros,
                         feuille=principale, zones=zones, crs_wkt=crs_wkt)


