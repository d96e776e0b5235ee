/**
 * A dialog and the item it is open for (the row to edit or delete; none for a new one),
 * for lists with a dialog per row action:
 *
 *   const deleting = new DialogState<Route>();
 *   <button onclick={() => deleting.show(route)}>Delete</button>
 *   <ConfirmDialog bind:open={deleting.open} message={`Delete “${deleting.item?.name}”?`} onconfirm={remove} />
 */
export class DialogState<T> {
  open = $state(false);
  item = $state.raw<T | undefined>(undefined);

  show = (item?: T): void => {
    this.item = item;
    this.open = true;
  };
}
